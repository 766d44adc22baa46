"""Classification metrics: accuracy, cross-entropy, confusion matrix, per-class P/R/F1.

Labels are integer class ids in [0, num_classes). Predictions may be class ids
[n] or scores [n, num_classes] (probabilities or logits; the arg-max is the
predicted class). Per-class metrics matter for imbalanced data: accuracy of a
majority-class baseline can look fine while its macro-F1 shows it never
predicts the rare classes.
"""

from __future__ import annotations

import numpy as np


def _labels(y_true, name: str = "y_true") -> np.ndarray:
  y = np.asarray(y_true)
  if y.ndim != 1:
    raise ValueError(f"{name} must be a 1-D array of class ids, got shape {y.shape}")
  if y.size == 0:
    raise ValueError(f"no examples to score: {name} is empty")
  if not np.issubdtype(y.dtype, np.integer):
    if np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)):
      y = y.astype(np.int64)
    else:
      raise ValueError(f"{name} must hold integer class ids, got dtype {y.dtype}")
  return y


def predicted_classes(y_pred) -> np.ndarray:
  """Class ids from ids [n] or from scores [n, num_classes] (arg-max)."""
  y_pred = np.asarray(y_pred)
  if y_pred.ndim == 2:
    return np.argmax(y_pred, axis=1)
  return _labels(y_pred, "y_pred")


def _check(y_true, y_pred, num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
  y_true, y_pred = _labels(y_true), predicted_classes(y_pred)
  if y_true.shape != y_pred.shape:
    raise ValueError(f"y_true has {y_true.shape[0]} examples but y_pred has {y_pred.shape[0]}")
  if num_classes is not None:
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
      if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"{name} has class ids outside [0, {num_classes}) "
                         f"(min {y.min()}, max {y.max()}); check num_classes")
  return y_true, y_pred


def accuracy(y_true, y_pred) -> float:
  """Fraction of examples whose predicted class equals the label."""
  y_true, y_pred = _check(y_true, y_pred)
  return float(np.mean(y_true == y_pred))


def cross_entropy(y_true, y_prob, *, from_logits: bool = False, eps: float = 1e-12) -> float:
  """Mean negative log-likelihood of the true class, in nats.

  Args:
    y_true: class ids [n].
    y_prob: probabilities [n, num_classes] (rows sum to 1), or logits with
      `from_logits=True`.
    from_logits: apply a (stable) log-softmax first.
    eps: probabilities are clipped to [eps, 1] so a confident miss costs
      -log(eps) instead of infinity.
  """
  y_true = _labels(y_true)
  scores = np.asarray(y_prob, dtype=np.float64)
  if scores.ndim != 2 or scores.shape[0] != y_true.shape[0]:
    raise ValueError(f"y_prob must be [n={y_true.shape[0]}, num_classes], got {scores.shape}")
  if y_true.min() < 0 or y_true.max() >= scores.shape[1]:
    raise ValueError(f"y_true has class ids outside [0, {scores.shape[1]})")
  if from_logits:
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_prob = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
  else:
    if (scores < 0).any() or not np.allclose(scores.sum(axis=1), 1.0, atol=1e-3):
      raise ValueError("rows of y_prob must be probabilities summing to 1; for raw model "
                       "outputs (logits) pass from_logits=True")
    log_prob = np.log(np.clip(scores, eps, 1.0))
  return float(-np.mean(log_prob[np.arange(y_true.shape[0]), y_true]))


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
  """Counts [num_classes, num_classes]: row = true class, column = predicted class."""
  y_true, y_pred = _check(y_true, y_pred, num_classes)
  matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
  np.add.at(matrix, (y_true, y_pred), 1)
  return matrix


def precision_recall_f1(y_true, y_pred, num_classes: int) -> dict[str, np.ndarray | float]:
  """Per-class precision, recall, F1 and support, plus their macro averages.

  A class never predicted has precision 0 and a class absent from y_true has
  recall 0 (scikit-learn's `zero_division=0`), so macro averages penalise a
  model that ignores classes. Macro averages run over all `num_classes`.

  Returns:
    {"precision": [C], "recall": [C], "f1": [C], "support": [C] (true counts),
     "macro_precision", "macro_recall", "macro_f1": floats}
  """
  matrix = confusion_matrix(y_true, y_pred, num_classes)
  true_pos = np.diag(matrix).astype(np.float64)
  predicted = matrix.sum(axis=0)
  support = matrix.sum(axis=1)
  precision = np.divide(true_pos, predicted, out=np.zeros(num_classes), where=predicted > 0)
  recall = np.divide(true_pos, support, out=np.zeros(num_classes), where=support > 0)
  denom = precision + recall
  f1 = np.divide(2 * precision * recall, denom, out=np.zeros(num_classes), where=denom > 0)
  return {
      "precision": precision, "recall": recall, "f1": f1, "support": support,
      "macro_precision": float(precision.mean()), "macro_recall": float(recall.mean()),
      "macro_f1": float(f1.mean()),
  }


def macro_f1(y_true, y_pred, num_classes: int) -> float:
  """Unweighted mean of per-class F1 (see `precision_recall_f1`)."""
  return precision_recall_f1(y_true, y_pred, num_classes)["macro_f1"]
