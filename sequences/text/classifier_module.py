"""`TextClassifierModule`: a trained text classifier as the raw-string functions it is served by.

    module = TextClassifierModule(preprocessor, model, class_names)
    module.classify(tf.constant(["Stocks rally on rate cut"]))  # {"label", "label_id", "probabilities"}
    module.embed(tf.constant(["..."]))                          # {"embedding"}: L2-normalised

The preprocessor is whatever turns raw strings into the model's input: the WordPiece `Tokenizer`
(neural models), `ngrams.NgramVectorizer` (classic baselines) or `ensemble.RawText` (an
`Ensemble`, whose members hold their own). `export.py` publishes this module; `train.py` saves it
into a run's workdir for the models that `export --workdir` cannot rebuild from weights alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

TEXT_SPEC = tf.TensorSpec([None], tf.string, name="text")


class TextClassifierModule(tf.Module):
  """Tokenizer + classifier + class names, with the two serving functions."""

  def __init__(self, tokenizer: tf.keras.layers.Layer, model: tf.keras.Model,
               class_names: Sequence[str]):
    super().__init__(name="text_classifier")
    self.tokenizer = tokenizer
    self.model = model
    self.class_names = tf.constant(list(class_names))

  @tf.function(input_signature=[TEXT_SPEC])
  def classify(self, text):
    logits = tf.cast(self.model(self.tokenizer(text), training=False), tf.float32)
    probabilities = tf.nn.softmax(logits, axis=-1)
    label_id = tf.argmax(probabilities, axis=-1)
    return {"label": tf.gather(self.class_names, label_id), "label_id": label_id,
            "probabilities": probabilities}

  @tf.function(input_signature=[TEXT_SPEC])
  def embed(self, text):
    features = tf.cast(self.model.features(self.tokenizer(text), training=False), tf.float32)
    return {"embedding": tf.math.l2_normalize(features, axis=-1)}

  def signatures(self) -> dict:
    """{"classify", "embed"}: the concrete functions a SavedModel of this module serves."""
    return {"classify": self.classify.get_concrete_function(),
            "embed": self.embed.get_concrete_function()}
