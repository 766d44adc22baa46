"""The content encoders of the candidate tower, taken from the vision and sequences packages.

* Text: `sequences/text`'s fastText body (token and hashed-bigram embeddings, averaged)
  over Keras `TextVectorization` tokens. The text package itself tokenises with
  tensorflow-text's WordPiece, whose ops a stock TensorFlow Serving lacks; the recsys
  export must load in a stock TF Serving (DESIGN.md, recsys row), so here the
  vocabulary is learned from the catalogue text with TextVectorization, whose ops
  (lower-casing, regex, split, hash-table lookup) are all stock.
* Image: `vision`'s public image encoder (raw encoded PNG/JPEG bytes -> vector),
  decoding and normalising inside the graph.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from sequences.text import encoder as text_encoder_lib
from vision import encoder as vision_encoder


class TextEncoder(tf.keras.layers.Layer):
  """Raw item text [batch] -> [batch, embed_dim], stock TensorFlow ops only."""

  def __init__(self, vocabulary: list[str], sequence_length: int = 32, embed_dim: int = 64,
               ngram_buckets: int = 2**15, **kw):
    super().__init__(**kw)
    # Token 0 is padding and 1 is out-of-vocabulary, as in sequences/text's tokenizer.
    self.vectorize = tf.keras.layers.TextVectorization(
        standardize="lower_and_strip_punctuation", output_mode="int",
        output_sequence_length=sequence_length, vocabulary=vocabulary, name="vectorize")
    self.body = text_encoder_lib.feature_body(
        "FastText", vocab_size=len(vocabulary) + 2, embed_dim=embed_dim,
        ngram_buckets=ngram_buckets, sequence_length=sequence_length, num_classes=1)

  def call(self, texts: tf.Tensor) -> tf.Tensor:
    return self.body.features(self.vectorize(texts))


def learn_vocabulary(texts: np.ndarray, max_tokens: int = 20_000) -> list[str]:
  """Word vocabulary of the catalogue's text (most frequent first, no reserved tokens)."""
  layer = tf.keras.layers.TextVectorization(max_tokens=max_tokens, standardize="lower_and_strip_punctuation")
  layer.adapt(tf.constant(np.asarray(texts).astype(str)))
  return [t for t in layer.get_vocabulary() if t not in ("", "[UNK]")]


def text_encoder(catalog_texts: np.ndarray, embed_dim: int = 64) -> TextEncoder:
  return TextEncoder(learn_vocabulary(catalog_texts), embed_dim=embed_dim)


def image_encoder(vision_export: str = "", trainable: bool = True) -> tf.keras.layers.Layer:
  """vision's image encoder: encoded image bytes [batch] -> [batch, dim].

  With `vision_export` (a vision export directory), the ResNet trained by the vision
  domain is loaded and frozen: its features already separate the item categories, and the
  recommender only learns to project them. Without one, a fresh ResNet-20 trains with the
  recommender (or, with `trainable=False`, stays a fixed random-feature extractor: cheap,
  and enough for tests of the plumbing).
  """
  if vision_export:
    encoder = vision_encoder.load_encoder(vision_export)
    encoder.trainable = False
    return encoder
  encoder = vision_encoder.build_encoder("ResNet20", image_size=32)
  encoder.trainable = trainable
  return encoder
