"""Point-forecast errors: MSE, RMSE, MAE.

All take `y_true` and `y_pred` of the same shape (any rank: a batch of
forecast windows [n, horizon] is fine) and average over every element. Slice
by horizon step with `slices.per_slice` or by indexing the last axis first.
"""

from __future__ import annotations

import numpy as np


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
  y_true = np.asarray(y_true, dtype=np.float64)
  y_pred = np.asarray(y_pred, dtype=np.float64)
  if y_true.shape != y_pred.shape:
    raise ValueError(f"y_true has shape {y_true.shape} but y_pred has {y_pred.shape}; they must "
                     "match element for element (squeeze a trailing 1-dim from model outputs)")
  if y_true.size == 0:
    raise ValueError("no values to score: y_true is empty")
  if not (np.isfinite(y_true).all() and np.isfinite(y_pred).all()):
    raise ValueError("y_true or y_pred contains NaN or inf; drop or impute missing targets first")
  return y_true, y_pred


def mse(y_true, y_pred) -> float:
  """Mean squared error."""
  y_true, y_pred = _pair(y_true, y_pred)
  return float(np.mean((y_true - y_pred) ** 2))


def rmse(y_true, y_pred) -> float:
  """Root mean squared error, in the units of the target."""
  return float(np.sqrt(mse(y_true, y_pred)))


def mae(y_true, y_pred) -> float:
  """Mean absolute error, in the units of the target (robust to a few large misses)."""
  y_true, y_pred = _pair(y_true, y_pred)
  return float(np.mean(np.abs(y_true - y_pred)))
