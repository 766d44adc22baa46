"""The public text encoders (`//sequences/text:encoder`): what other domains may build on.

`TextEncoder`: raw strings -> L2-normalised vectors.

A Keras layer that takes a raw title or description and can be trained end to end inside a
larger model (a two-tower retriever, a ranker), so that model's export keeps tokenisation in its
graph, like every other export here. Its WordPiece tokenizer runs tensorflow-text ops, so such an
export loads only where `tensorflow_text` is imported (our server does; a stock TF Serving does
not). That is why recsys, whose export must load in a stock TF Serving, uses `feature_body` instead:
this package's FastText body over token ids it makes itself with a stock-op Keras
`TextVectorization` (`recsys/encoders.py`).

    from sequences.text import encoder as text_encoder
    tower = text_encoder.TextEncoder.from_texts(item_texts, workdir, output_dim=64)
    vectors = tower(tf.constant(["acme wireless headphones", ...]))   # [batch, 64], unit norm

It is built from this package's pieces: `tokenizer.Tokenizer` (WordPiece, case folding, packing,
input checks) and the `features` of a `models` class (FastText by default: cheap and strong on
short product text), followed by a linear projection to `output_dim`.

`feature_body(model, vocab_size=..., sequence_length=..., ...)`: the same `models` class over int
token ids `[batch, sequence_length]` (0 = padding, 1 = out of vocabulary), for a caller that
tokenises with its own ops; `body.features(ids)` is `[batch, features]`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import tensorflow as tf

from sequences.text import models
from sequences.text import tokenizer as tokenizer_lib

FEATURE_MODELS = ("FastText", "CNN", "BiGRU", "Transformer")


def feature_body(model: str = "FastText", **model_config) -> models.TextClassifier:
  """A `models` class with learned features over int token ids; call its `features(ids)`.

  Args:
    model: FastText | CNN | BiGRU | Transformer.
    **model_config: `models.ModelConfig` fields (vocab_size, sequence_length, embed_dim,
      ngram_buckets, ...); num_classes sizes only the unused classifier head.
  """
  _check_model(model)
  return getattr(models, model)(models.ModelConfig(**model_config))


def _check_model(model: str) -> None:
  if model not in FEATURE_MODELS:
    raise ValueError(f"model={model!r}: the text encoder needs a model with learned features, "
                     f"one of {', '.join(FEATURE_MODELS)}")


class TextEncoder(tf.keras.layers.Layer):
  """Raw strings `[batch]` -> `[batch, output_dim]` float32 vectors (unit L2 norm by default).

  Args:
    vocab_path: a vocabulary from `tokenizer.learn_vocabulary` (becomes a SavedModel asset).
    output_dim: width of the output vector.
    model: which `models` class computes the features: FastText | CNN | BiGRU | Transformer.
    sequence_length: word pieces read per text.
    model_config: overrides for `models.ModelConfig` fields (e.g. {"embed_dim": 32}).
    normalize: L2-normalise the output (dot product = cosine similarity).
    max_input_bytes: hard cap on one input's byte length (longer input is an error).
  """

  def __init__(self, vocab_path: str, output_dim: int = 64, model: str = "FastText",
               sequence_length: int = 32, model_config: dict | None = None,
               normalize: bool = True,
               max_input_bytes: int = tokenizer_lib.DEFAULT_MAX_INPUT_BYTES, **kwargs):
    super().__init__(**kwargs)
    _check_model(model)  # before the vocabulary file is read
    self.tokenizer = tokenizer_lib.Tokenizer(vocab_path, sequence_length, max_input_bytes)
    self.backbone = feature_body(model, **{
        **(model_config or {}), "vocab_size": self.tokenizer.vocab_size,
        "num_classes": output_dim, "sequence_length": sequence_length})
    self.projection = tf.keras.layers.Dense(output_dim, dtype="float32", name="projection")
    self.normalize = normalize
    self._config = {"vocab_path": str(vocab_path), "output_dim": output_dim, "model": model,
                    "sequence_length": sequence_length, "model_config": model_config,
                    "normalize": normalize, "max_input_bytes": max_input_bytes}

  @classmethod
  def from_texts(cls, texts: Iterable[str], workdir: str | os.PathLike, vocab_size: int = 4000,
                 **kwargs) -> TextEncoder:
    """Learns a vocabulary from `texts` into `<workdir>/text_vocab.txt` and builds the encoder.

    Pass only training texts (e.g. the catalogue's items; they are not labels, so learning the
    vocabulary from every item is not a leak in retrieval).
    """
    path = os.path.join(workdir, "text_vocab.txt")
    tokenizer_lib.learn_vocabulary(texts, path, vocab_size)
    return cls(path, **kwargs)

  def call(self, texts, training=False):
    features = self.backbone.features(self.tokenizer(texts), training=training)
    vectors = self.projection(tf.cast(features, tf.float32))
    return tf.math.l2_normalize(vectors, axis=-1) if self.normalize else vectors

  def get_config(self):
    return {**super().get_config(), **self._config}
