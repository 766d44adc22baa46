"""Text classifiers over WordPiece ids, picked by name: `getattr(models, config.model)`.

All models take `ids` `[batch, sequence_length]` int32 from `tokenizer.Tokenizer` (0 = padding)
and return class logits; `features(ids)` returns the vector the `embed` signature L2-normalises
(and that `encoder.TextEncoder` hands to recsys). From simplest to largest:

- `Linear`: the bag-of-n-grams baseline — multinomial logistic regression on the length-normalised
  counts of hashed unigrams and bigrams. Its `features` are its class scores.
- `FastText`: averaged token + hashed-bigram embeddings and a linear head (Joulin et al. 2016).
- `CNN`: parallel 1-D convolutions of widths 3/4/5 with max-over-time pooling (Kim 2014).
- `BiGRU`: a bidirectional GRU; features are the two final states.
- `Transformer`: a small pre-LN Transformer encoder with learned positions and masked mean pooling.

The majority-class baseline needs no model; it is in `evaluate.majority_baseline`.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from sequences.text import tokenizer as tokenizer_lib

# A large prime to mix (previous, current) token ids into one bigram hash.
_BIGRAM_PRIME = 1_000_003


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """What the models need; `train.py` builds it from `config.model_config` and the vocabulary.

  Attributes:
    vocab_size: WordPiece vocabulary size (set from the learned vocabulary).
    num_classes: output classes (set from the data).
    embed_dim: token embedding width.
    hidden_dim: CNN filters per width, GRU units per direction, Transformer FFN width.
    num_layers: Transformer blocks.
    num_heads: Transformer attention heads.
    ngram_buckets: hash buckets for bigrams (Linear uses them for unigrams + bigrams too).
    dropout: dropout rate before the head (and inside the Transformer).
    sequence_length: ids per text (the Transformer's position table size).
  """
  vocab_size: int = 8000
  num_classes: int = 2
  embed_dim: int = 64
  hidden_dim: int = 64
  num_layers: int = 2
  num_heads: int = 4
  ngram_buckets: int = 2**17
  dropout: float = 0.1
  sequence_length: int = 64


def padding_mask(ids: tf.Tensor) -> tf.Tensor:
  """True at real tokens, False at padding."""
  return tf.not_equal(ids, tokenizer_lib.PAD_ID)


def hashed_bigrams(ids: tf.Tensor, buckets: int) -> tuple[tf.Tensor, tf.Tensor]:
  """Bigram bucket ids `[batch, length - 1]` and their mask (both tokens real)."""
  prev, cur = tf.cast(ids[:, :-1], tf.int64), tf.cast(ids[:, 1:], tf.int64)
  bigrams = tf.math.floormod(prev * _BIGRAM_PRIME + cur, buckets)
  mask = tf.logical_and(padding_mask(ids[:, :-1]), padding_mask(ids[:, 1:]))
  return bigrams, mask


def masked_mean(values: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
  """Mean of `values` `[batch, length, dim]` over positions where `mask` is True."""
  weights = tf.cast(mask, values.dtype)[..., None]
  total = tf.reduce_sum(values * weights, axis=1)
  return total / tf.maximum(tf.reduce_sum(weights, axis=1), 1.0)


class TextClassifier(tf.keras.Model):
  """Thin base: `features(ids)` from the subclass, then dropout and a dense head."""

  def __init__(self, config: ModelConfig, **kwargs):
    super().__init__(**kwargs)
    self.config = config
    self.dropout = tf.keras.layers.Dropout(config.dropout)
    # The head stays float32 under mixed precision so softmax and loss are exact.
    self.head = tf.keras.layers.Dense(config.num_classes, dtype="float32", name="head")

  def features(self, ids, training=False):
    raise NotImplementedError("subclasses compute the text's feature vector")

  def call(self, ids, training=False):
    return self.head(self.dropout(self.features(ids, training=training), training=training))


class Linear(TextClassifier):
  """Bag of hashed unigrams + bigrams -> class scores (a linear model, the learned baseline).

  An embedding of width `num_classes` averaged over the n-grams equals a dense layer applied to
  the length-normalised n-gram count vector, without materialising that 2^17-wide vector.
  """

  def __init__(self, config: ModelConfig, **kwargs):
    super().__init__(config, **kwargs)
    self.weights_table = tf.keras.layers.Embedding(config.ngram_buckets, config.num_classes,
                                                   embeddings_initializer="zeros", name="ngrams")
    self.bias = tf.keras.layers.Dense(config.num_classes, name="bias")  # fed a constant 1

  def _ngrams(self, ids):
    unigrams = tf.math.floormod(tf.cast(ids, tf.int64), self.config.ngram_buckets)
    bigrams, bigram_mask = hashed_bigrams(ids, self.config.ngram_buckets)
    return (tf.concat([unigrams, bigrams], axis=1),
            tf.concat([padding_mask(ids), bigram_mask], axis=1))

  def features(self, ids, training=False):
    ngrams, mask = self._ngrams(ids)
    scores = masked_mean(self.weights_table(ngrams), mask)
    return scores + self.bias(tf.ones_like(scores[:, :1]))

  def call(self, ids, training=False):
    return self.features(ids, training=training)


class FastText(TextClassifier):
  """Average of token and hashed-bigram embeddings, then a linear head."""

  def __init__(self, config: ModelConfig, **kwargs):
    super().__init__(config, **kwargs)
    self.tokens = tf.keras.layers.Embedding(config.vocab_size, config.embed_dim, name="tokens")
    self.bigrams = tf.keras.layers.Embedding(config.ngram_buckets, config.embed_dim,
                                             name="bigrams")

  def features(self, ids, training=False):
    bigram_ids, bigram_mask = hashed_bigrams(ids, self.config.ngram_buckets)
    values = tf.concat([self.tokens(ids), self.bigrams(bigram_ids)], axis=1)
    mask = tf.concat([padding_mask(ids), bigram_mask], axis=1)
    return masked_mean(values, mask)


class CNN(TextClassifier):
  """Convolutions of widths 3, 4, 5 over token embeddings, max over time, concatenated."""

  def __init__(self, config: ModelConfig, **kwargs):
    super().__init__(config, **kwargs)
    self.tokens = tf.keras.layers.Embedding(config.vocab_size, config.embed_dim, name="tokens")
    self.convs = [tf.keras.layers.Conv1D(config.hidden_dim, width, padding="same",
                                         activation="relu", name=f"conv{width}")
                  for width in (3, 4, 5)]

  def features(self, ids, training=False):
    x = self.tokens(ids)
    # Padding must never win the max: push padded positions far below any activation.
    penalty = (1.0 - tf.cast(padding_mask(ids), x.dtype))[..., None] * -1e4
    return tf.concat([tf.reduce_max(conv(x) + penalty, axis=1) for conv in self.convs], axis=-1)


class BiGRU(TextClassifier):
  """A bidirectional GRU over token embeddings; features = [forward final, backward final]."""

  def __init__(self, config: ModelConfig, **kwargs):
    super().__init__(config, **kwargs)
    self.tokens = tf.keras.layers.Embedding(config.vocab_size, config.embed_dim, name="tokens")
    self.rnn = tf.keras.layers.Bidirectional(tf.keras.layers.GRU(config.hidden_dim), name="bigru")

  def features(self, ids, training=False):
    return self.rnn(self.tokens(ids), mask=padding_mask(ids), training=training)


class TransformerBlock(tf.keras.layers.Layer):
  """Pre-LayerNorm self-attention + feed-forward block with residuals."""

  def __init__(self, dim: int, heads: int, ffn_dim: int, dropout: float, **kwargs):
    super().__init__(**kwargs)
    self.norm1 = tf.keras.layers.LayerNormalization(epsilon=1e-6)
    self.attention = tf.keras.layers.MultiHeadAttention(heads, dim // heads, dropout=dropout)
    self.norm2 = tf.keras.layers.LayerNormalization(epsilon=1e-6)
    self.ffn = tf.keras.Sequential([tf.keras.layers.Dense(ffn_dim, activation="gelu"),
                                    tf.keras.layers.Dense(dim)])
    self.drop = tf.keras.layers.Dropout(dropout)

  def call(self, x, mask, training=False):
    attention_mask = tf.logical_and(mask[:, None, :], mask[:, :, None])
    y = self.norm1(x)
    x = x + self.drop(self.attention(y, y, attention_mask=attention_mask, training=training),
                      training=training)
    return x + self.drop(self.ffn(self.norm2(x)), training=training)


class Transformer(TextClassifier):
  """A small Transformer encoder (learned positions, masked mean pooling)."""

  def __init__(self, config: ModelConfig, **kwargs):
    super().__init__(config, **kwargs)
    self.tokens = tf.keras.layers.Embedding(config.vocab_size, config.embed_dim, name="tokens")
    self.positions = tf.keras.layers.Embedding(config.sequence_length, config.embed_dim,
                                               name="positions")
    self.blocks = [TransformerBlock(config.embed_dim, config.num_heads, config.hidden_dim * 2,
                                    config.dropout, name=f"block{i}")
                   for i in range(config.num_layers)]
    self.norm = tf.keras.layers.LayerNormalization(epsilon=1e-6)

  def features(self, ids, training=False):
    mask = padding_mask(ids)
    x = self.tokens(ids) + self.positions(tf.range(tf.shape(ids)[1]))[None]
    for block in self.blocks:
      x = block(x, mask, training=training)
    return masked_mean(self.norm(x), mask)


MODEL_NAMES = ("Linear", "FastText", "CNN", "BiGRU", "Transformer")
