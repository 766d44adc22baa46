"""Tests for ngrams.py and classic.py: features and fits cross-checked against scikit-learn."""

import numpy as np
import pytest
import tensorflow as tf
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from sequences.text import classic, ngrams

# Lower-case words without punctuation: TextVectorization and scikit-learn tokenise them alike.
WORDS = {0: "goal match team coach league cup", 1: "stock market shares bank profit trade",
         2: "chip software data cloud phone robot"}


def _corpus(n_per_class=40, seed=0):
  rng = np.random.default_rng(seed)
  noise = ["the", "a", "of", "and", "to", "in", "for", "on", "with"]
  texts, labels = [], []
  for label, words in WORDS.items():
    for _ in range(n_per_class):
      picked = list(rng.choice(words.split(), 2)) + list(rng.choice(noise, 4))
      rng.shuffle(picked)
      texts.append(" ".join(picked))
      labels.append(label)
  return texts, np.array(labels)


def _dense(x: tf.SparseTensor) -> np.ndarray:
  return tf.sparse.to_dense(tf.sparse.reorder(x)).numpy()


def test_tfidf_features_equal_scikit_learn():
  texts, _ = _corpus()
  vectorizer = ngrams.NgramVectorizer("tfidf", max_tokens=None)
  vectorizer.adapt(texts)
  ours = _dense(vectorizer.transform(texts))
  sk = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")
  theirs = sk.fit_transform(texts).toarray()
  vocabulary = vectorizer.counts.get_vocabulary()
  assert len(vocabulary) - 1 == len(sk.vocabulary_)  # ours has the [UNK] column 0
  order = [sk.vocabulary_[token] for token in vocabulary[1:]]
  np.testing.assert_allclose(ours[:, 1:], theirs[:, order], atol=1e-5)
  np.testing.assert_array_equal(ours[:, 0], 0.0)


def test_binary_features_and_unknown_ngrams():
  vectorizer = ngrams.NgramVectorizer("binary", max_tokens=None)
  vectorizer.adapt(["good good film", "bad film"])
  x = _dense(vectorizer(tf.constant(["good good film", "unseen words only"])))
  vocabulary = vectorizer.counts.get_vocabulary()
  assert x[0, vocabulary.index("good")] == 1.0  # present, not counted twice
  assert x[0, vocabulary.index("good film")] == 1.0
  assert x[1].sum() == 0.0  # out-of-vocabulary n-grams carry no weight


def test_vectorizer_rejects_bad_input_like_the_tokenizer():
  vectorizer = ngrams.NgramVectorizer("binary")
  vectorizer.adapt(["some text"])
  with pytest.raises(tf.errors.InvalidArgumentError, match="empty or whitespace only"):
    vectorizer(tf.constant(["fine", "  "]))
  with pytest.raises(ValueError, match="weighting='counts' is not one of"):
    ngrams.NgramVectorizer("counts")


def test_log_count_ratio_by_hand():
  # 3 docs over 2 columns: doc0 (class 0) has col 0; doc1 (class 1) has cols 0, 1; doc2 (class 1)
  # has col 1. alpha = 1: class 1's p = 1 + [1, 2] = [2, 3] (|p| = 5), q = 1 + [1, 0] = [2, 1]
  # (|q| = 3) -> r = log([2/5 / (2/3), 3/5 / (1/3)]) = log([0.6, 1.8]).
  x = tf.SparseTensor([[0, 0], [1, 0], [1, 1], [2, 1]], [1.0, 1.0, 1.0, 1.0], [3, 2])
  r = classic.log_count_ratio(x, np.array([0, 1, 1]), 2, alpha=1.0)
  np.testing.assert_allclose(r[:, 1], np.log([0.6, 1.8]), rtol=1e-6)
  np.testing.assert_allclose(r[:, 0], -np.log([0.6, 1.8]), rtol=1e-6)  # two classes: mirrored


def test_take_rows_and_stratified_folds():
  x = tf.SparseTensor([[0, 1], [1, 0], [2, 2]], [1.0, 2.0, 3.0], [3, 3])
  np.testing.assert_array_equal(_dense(classic.take_rows(x, np.array([2, 0]))),
                                [[0, 0, 3], [0, 1, 0]])
  labels = np.array([0] * 10 + [1] * 5)
  folds = classic.stratified_folds(labels, 5, seed=0)
  for k in range(5):  # every fold holds 2 of class 0 and 1 of class 1
    np.testing.assert_array_equal(np.bincount(labels[folds == k]), [2, 1])
  np.testing.assert_array_equal(folds, classic.stratified_folds(labels, 5, seed=0))


def test_tfidf_logistic_matches_scikit_learn_objective():
  texts, labels = _corpus(n_per_class=30)
  test_texts, test_labels = _corpus(n_per_class=10, seed=1)
  cfg = classic.ClassicConfig(steps=300, learning_rate=0.1, max_tokens=None)
  fitted = classic.fit("TfidfLogistic", texts, labels, 3, cfg, hyperparameters={
      "C": 4.0, "alpha": 1.0, "beta": 1.0})
  sk = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")
  reference = LogisticRegression(C=4.0, max_iter=2000).fit(sk.fit_transform(texts), labels)
  ours = fitted.predict_logits(test_texts).argmax(-1)
  theirs = reference.predict(sk.transform(test_texts))
  assert np.mean(ours == theirs) >= 0.95
  assert np.mean(ours == test_labels) >= 0.9


def test_nbsvm_tunes_on_inner_folds_and_learns():
  texts, labels = _corpus()
  test_texts, test_labels = _corpus(n_per_class=10, seed=1)
  cfg = classic.ClassicConfig(c_grid=(1.0, 8.0), alpha_grid=(1.0,), beta_grid=(0.5, 1.0),
                              steps=60)
  fitted = classic.fit("NBSVM", texts, labels, 3, cfg)
  assert fitted.hyperparameters["C"] in (1.0, 8.0)
  assert fitted.hyperparameters["beta"] in (0.5, 1.0)
  assert fitted.validation_accuracy >= 0.9
  assert np.mean(fitted.predict_logits(test_texts).argmax(-1) == test_labels) >= 0.9
  with pytest.raises(ValueError, match="'SVM' is not a classic model"):
    classic.fit("SVM", texts, labels, 3, cfg)
