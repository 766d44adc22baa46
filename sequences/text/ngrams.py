"""Raw strings -> sparse bag of word uni+bigrams: the classic models' tokenizer, inside the export.

`NgramVectorizer` is to the classic baselines (`classic.py`) what `tokenizer.Tokenizer` is to the
neural models: a Keras layer at the front of the exported SavedModel, so a client sends the raw
string and training and serving share one featuriser. In the graph it

1. checks each string with `tokenizer.check_texts` (empty, non-UTF-8, over `max_input_bytes`
   fail with the same messages as every other trellis text model);
2. lower-cases, strips punctuation and splits on whitespace (`TextVectorization`'s
   "lower_and_strip_punctuation"), then counts word unigrams and bigrams against a vocabulary
   learned from the training texts (`adapt`), most frequent first, at most `max_tokens`;
3. weights the counts:
   - `"binary"`: 1 for every n-gram present (NBSVM's indicator features, Wang & Manning 2012);
   - `"tfidf"`: sublinear tf-idf, `(1 + log count) * idf` with scikit-learn's smoothed
     `idf = log((1 + n) / (1 + df)) + 1`, each row then L2-normalised.
   N-grams outside the vocabulary are dropped (their column gets weight 0).

The output is a `tf.SparseTensor` `[batch, vocabulary_size]`: AG News's 6,000 training texts
have ~200,000 distinct uni+bigrams, and a dense matrix of that width would be 99.9% zeros.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from sequences.text import tokenizer as tokenizer_lib

WEIGHTINGS = ("binary", "tfidf")


class NgramVectorizer(tf.keras.layers.Layer):
  """Raw strings `[batch]` -> sparse weighted uni+bigram features `[batch, vocabulary_size]`.

  Args:
    weighting: "binary" or "tfidf" (see the module docstring).
    max_tokens: vocabulary cap (most frequent n-grams kept); None keeps all.
    max_input_bytes: hard cap on one input string's bytes, as `tokenizer.Tokenizer`.
  """

  def __init__(self, weighting: str = "binary", max_tokens: int | None = 2**18,
               max_input_bytes: int = tokenizer_lib.DEFAULT_MAX_INPUT_BYTES, **kwargs):
    super().__init__(**kwargs)
    if weighting not in WEIGHTINGS:
      raise ValueError(f"weighting={weighting!r} is not one of {WEIGHTINGS}")
    self.weighting = weighting
    self.max_input_bytes = max_input_bytes
    self.counts = tf.keras.layers.TextVectorization(
        max_tokens=max_tokens, standardize="lower_and_strip_punctuation", split="whitespace",
        ngrams=2, output_mode="count", sparse=True, name="ngram_counts")
    self.column_weights = None

  @property
  def vocabulary_size(self) -> int:
    return self.counts.vocabulary_size()

  def adapt(self, texts: Sequence[str], batch_size: int = 1024) -> None:
    """Learns the n-gram vocabulary (and, for tf-idf, document frequencies) from `texts`."""
    texts = list(texts)
    if not texts:
      raise ValueError("NgramVectorizer.adapt got no texts; pass the training split's texts")
    self.counts.adapt(tf.data.Dataset.from_tensor_slices(texts).batch(batch_size))
    size = self.vocabulary_size
    weights = np.ones(size, np.float32)
    if self.weighting == "tfidf":
      df = np.zeros(size, np.float64)
      for batch in tf.data.Dataset.from_tensor_slices(texts).batch(batch_size):
        columns = self.counts(batch).indices[:, 1].numpy()
        df += np.bincount(columns, minlength=size)
      weights = (np.log((1.0 + len(texts)) / (1.0 + df)) + 1.0).astype(np.float32)
    weights[0] = 0.0  # column 0 counts out-of-vocabulary n-grams: drop them
    if self.column_weights is None:
      self.column_weights = self.add_weight("column_weights", shape=[size], trainable=False,
                                            initializer="zeros")
    self.column_weights.assign(weights)

  def call(self, texts):
    if self.column_weights is None:
      raise ValueError("NgramVectorizer is not adapted; call adapt(train_texts) first")
    texts = tf.convert_to_tensor(texts, dtype=tf.string)
    if texts.shape.rank == 2:
      texts = tf.squeeze(texts, axis=1)
    counts = self.counts(tokenizer_lib.check_texts(texts, self.max_input_bytes))
    column = tf.gather(self.column_weights, counts.indices[:, 1])
    if self.weighting == "binary":
      values = column
    else:
      values = (1.0 + tf.math.log(counts.values)) * column
      row = counts.indices[:, 0]
      norms = tf.sqrt(tf.math.unsorted_segment_sum(tf.square(values), row,
                                                   tf.shape(texts, out_type=tf.int64)[0]))
      values = values / tf.maximum(tf.gather(norms, row), 1e-12)
    return tf.SparseTensor(counts.indices, values, counts.dense_shape)

  def transform(self, texts: Sequence[str], batch_size: int = 2048) -> tf.SparseTensor:
    """Features of many texts as one SparseTensor (training and evaluation matrices)."""
    parts = [self(batch) for batch in
             tf.data.Dataset.from_tensor_slices(list(texts)).batch(batch_size)]
    return tf.sparse.concat(0, parts) if len(parts) > 1 else parts[0]
