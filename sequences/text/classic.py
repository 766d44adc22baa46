"""The strong classic text baselines, in TensorFlow: NBSVM-bigram and TF-IDF logistic regression.

Linear models on word uni+bigrams are what a text classifier must beat (Wang & Manning 2012,
"Baselines and Bigrams"): on small and mid-size sets they match or beat CNNs trained from scratch.
Both are trellis models: `ngrams.NgramVectorizer` (raw string -> sparse n-grams) is their
tokenizer inside the export, and `classifier_module.TextClassifierModule(vectorizer, model,
classes)` serves them like the neural ones (raw string in, class out).

- **NBSVM** (Wang & Manning 2012, with the logistic loss of Mesnil et al. 2014): binary n-gram
  indicators `x` are scaled by the log-count ratio `r = log((p / |p|_1) / (q / |q|_1))` with
  `p = alpha + sum of x over the class's texts`, `q` the same over the other classes; an
  L2-regularised one-vs-rest logistic regression is fitted on `r * x`, and its weights are
  interpolated `w' = (1 - beta) * mean|w| + beta * w` (the paper's NBSVM interpolation).
- **TfidfLogistic**: multinomial logistic regression on sublinear tf-idf uni+bigrams, L2.

Both minimise scikit-learn's objective `0.5 |w|^2 + C * sum(loss)` (so `C` means what it means
there) by full-batch Adam over the sparse matrix. Their hyper-parameters (`C`; NBSVM's `alpha`
and `beta`) are chosen by accuracy on `inner_folds` stratified validation folds **inside the
training data** (`tune`), then the model is refitted on all of it. The n-gram vocabulary (and
tf-idf's document frequencies, which use no labels) is learned once from all training texts.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from sequences.text import ngrams

CLASSIC_NAMES = ("NBSVM", "TfidfLogistic")
WEIGHTING = {"NBSVM": "binary", "TfidfLogistic": "tfidf"}


@dataclasses.dataclass(frozen=True)
class ClassicConfig:
  """Search space and optimiser of the classic baselines (`config.classic`).

  Attributes:
    c_grid: inverse L2 strengths tried (scikit-learn's C).
    alpha_grid: NBSVM's count smoothing tried.
    beta_grid: NBSVM's interpolation tried (1 = plain logistic regression on r * x).
    inner_folds: stratified validation folds inside the training data for the search.
    max_tokens: n-gram vocabulary cap (most frequent first).
    steps: full-batch Adam steps per fit.
    learning_rate: Adam step size.
    seed: fold assignment of the inner search.
  """
  c_grid: tuple[float, ...] = (4.0, 16.0, 64.0)
  alpha_grid: tuple[float, ...] = (0.5, 1.0)
  beta_grid: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)
  inner_folds: int = 3
  max_tokens: int = 2**18
  steps: int = 150
  learning_rate: float = 0.2
  seed: int = 0


class LinearOnNgrams(tf.keras.Model):
  """Sparse n-gram features `[batch, V]` -> class scores `x @ (scale * w') + b`.

  `scale` is NBSVM's log-count ratio (ones for tf-idf) and `w' = (1 - beta) * mean|w| + beta * w`
  (beta = 1 leaves w alone). `features` are the class scores (what `embed` normalises).
  """

  def __init__(self, vocabulary_size: int, num_classes: int, **kwargs):
    super().__init__(**kwargs)
    self.kernel = self.add_weight("kernel", [vocabulary_size, num_classes], initializer="zeros")
    self.bias = self.add_weight("bias", [num_classes], initializer="zeros")
    self.scale = self.add_weight("scale", [vocabulary_size, num_classes], trainable=False,
                                 initializer="ones")
    self.beta = self.add_weight("beta", [], trainable=False, initializer="ones")

  def effective_kernel(self, kernel=None):
    kernel = self.kernel if kernel is None else kernel
    mean_abs = tf.reduce_mean(tf.abs(kernel), axis=0, keepdims=True)
    return self.scale * ((1.0 - self.beta) * mean_abs + self.beta * kernel)

  def features(self, x, training=False):
    return tf.sparse.sparse_dense_matmul(x, self.effective_kernel()) + self.bias

  def call(self, x, training=False):
    return self.features(x, training=training)


def log_count_ratio(x: tf.SparseTensor, labels: np.ndarray, num_classes: int,
                    alpha: float) -> np.ndarray:
  """NBSVM's `r` `[V, num_classes]`: each class against the rest, from binary features `x`."""
  indices = x.indices.numpy()
  present = x.values.numpy() > 0
  columns, rows = indices[present, 1], indices[present, 0]
  size = int(x.dense_shape[1])
  per_class = np.stack([np.bincount(columns[labels[rows] == k], minlength=size)
                        for k in range(num_classes)], axis=1).astype(np.float64)
  total = per_class.sum(axis=1, keepdims=True)
  p = alpha + per_class
  q = alpha + (total - per_class)
  return np.log((p / p.sum(axis=0)) / (q / q.sum(axis=0))).astype(np.float32)


def take_rows(x: tf.SparseTensor, rows: np.ndarray) -> tf.SparseTensor:
  """The sparse matrix of `x`'s `rows` (in that order)."""
  indices, values = x.indices.numpy(), x.values.numpy()
  position = np.full(int(x.dense_shape[0]), -1, np.int64)
  position[rows] = np.arange(len(rows))
  new_row = position[indices[:, 0]]
  keep = new_row >= 0
  new = np.stack([new_row[keep], indices[keep, 1]], axis=1)
  order = np.lexsort((new[:, 1], new[:, 0]))
  return tf.SparseTensor(new[order], values[keep][order], [len(rows), int(x.dense_shape[1])])


def fit_linear(model: LinearOnNgrams, x: tf.SparseTensor, labels: np.ndarray, c: float,
               one_vs_rest: bool, steps: int, learning_rate: float) -> LinearOnNgrams:
  """Minimises `0.5 |w|^2 + c * sum(loss)` by full-batch Adam (w = the kernel; bias free)."""
  n = float(x.dense_shape[0])
  num_classes = int(model.bias.shape[0])
  targets = tf.one_hot(labels, num_classes)
  optimizer = tf.keras.optimizers.Adam(learning_rate)
  variables = [model.kernel, model.bias]
  scale = tf.convert_to_tensor(model.scale)

  @tf.function
  def step():
    with tf.GradientTape() as tape:
      logits = tf.sparse.sparse_dense_matmul(x, scale * model.kernel) + model.bias
      if one_vs_rest:
        loss = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(targets, logits))
      else:
        loss = tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits(targets, logits))
      # The objective divided by c * n, so the step size does not depend on the data size.
      objective = loss / n + tf.reduce_sum(tf.square(model.kernel)) / (2.0 * c * n)
    optimizer.apply_gradients(zip(tape.gradient(objective, variables), variables,
                                  strict=True))
    return objective

  for _ in range(steps):
    step()
  return model


def stratified_folds(labels: np.ndarray, num_folds: int, seed: int) -> np.ndarray:
  """Fold id per record: each class's records shuffled with `seed` and dealt round-robin."""
  labels = np.asarray(labels)
  folds = np.empty(len(labels), np.int64)
  rng = np.random.default_rng(seed)
  for k in np.unique(labels):
    members = rng.permutation(np.flatnonzero(labels == k))
    folds[members] = np.arange(len(members)) % num_folds
  return folds


@dataclasses.dataclass
class ClassicModel:
  """A fitted classic baseline: `vectorizer` (the export's tokenizer) and `model`."""
  name: str
  vectorizer: ngrams.NgramVectorizer
  model: LinearOnNgrams
  hyperparameters: dict
  validation_accuracy: float

  def predict_logits(self, texts: Sequence[str]) -> np.ndarray:
    return self.model(self.vectorizer.transform(texts)).numpy()


def _fit(name: str, x: tf.SparseTensor, labels: np.ndarray, num_classes: int, c: float,
         alpha: float, beta: float, cfg: ClassicConfig) -> LinearOnNgrams:
  model = LinearOnNgrams(int(x.dense_shape[1]), num_classes)
  if name == "NBSVM":
    model.scale.assign(log_count_ratio(x, labels, num_classes, alpha))
  fit_linear(model, x, labels, c, one_vs_rest=name == "NBSVM", steps=cfg.steps,
             learning_rate=cfg.learning_rate)
  model.beta.assign(beta)
  return model


def _accuracy(model: LinearOnNgrams, x: tf.SparseTensor, labels: np.ndarray) -> float:
  return float(np.mean(model(x).numpy().argmax(-1) == labels))


def tune(name: str, x: tf.SparseTensor, labels: np.ndarray, num_classes: int,
         cfg: ClassicConfig) -> tuple[dict, float]:
  """({"C", "alpha", "beta"}, mean validation accuracy) best over the grid by inner CV.

  beta needs no refit (it only interpolates fitted weights), so each (C, alpha) is fitted once
  per inner fold and every beta is scored on that fit.
  """
  folds = stratified_folds(labels, cfg.inner_folds, cfg.seed)
  alphas = cfg.alpha_grid if name == "NBSVM" else (1.0,)
  betas = cfg.beta_grid if name == "NBSVM" else (1.0,)
  scores = {}
  for k in range(cfg.inner_folds):
    train_rows, valid_rows = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
    x_train, x_valid = take_rows(x, train_rows), take_rows(x, valid_rows)
    for c, alpha in itertools.product(cfg.c_grid, alphas):
      model = _fit(name, x_train, labels[train_rows], num_classes, c, alpha, 1.0, cfg)
      for beta in betas:
        model.beta.assign(beta)
        scores.setdefault((c, alpha, beta), []).append(
            _accuracy(model, x_valid, labels[valid_rows]))
  (c, alpha, beta), accuracies = max(scores.items(), key=lambda item: np.mean(item[1]))
  return {"C": c, "alpha": alpha, "beta": beta}, float(np.mean(accuracies))


def fit(name: str, texts: Sequence[str], labels: np.ndarray, num_classes: int,
        cfg: ClassicConfig = ClassicConfig(),
        hyperparameters: dict | None = None) -> ClassicModel:
  """Learns the vectorizer, tunes on inner folds (unless `hyperparameters` are given), refits.

  Args:
    name: "NBSVM" or "TfidfLogistic".
    texts: training texts.
    labels: int class ids.
    num_classes: output classes.
    cfg: search space and optimiser.
    hyperparameters: skip the search and use these {"C", "alpha", "beta"}.
  """
  if name not in CLASSIC_NAMES:
    raise ValueError(f"{name!r} is not a classic model; choose one of {CLASSIC_NAMES}")
  labels = np.asarray(labels)
  vectorizer = ngrams.NgramVectorizer(WEIGHTING[name], max_tokens=cfg.max_tokens)
  vectorizer.adapt(texts)
  x = vectorizer.transform(texts)
  validation_accuracy = float("nan")
  if hyperparameters is None:
    hyperparameters, validation_accuracy = tune(name, x, labels, num_classes, cfg)
  model = _fit(name, x, labels, num_classes, hyperparameters["C"], hyperparameters["alpha"],
               hyperparameters["beta"], cfg)
  return ClassicModel(name, vectorizer, model, hyperparameters, validation_accuracy)
