"""Blending rating models: a linear stack whose weights are fitted on held-out ratings.

The Netflix Prize recipe (Töscher, Jahrer & Bell 2009; Koren 2009): models that err differently
are combined by a linear regression of the true rating on their predictions. To keep the test
ratings out of every choice, each member is fitted twice:

1. on the training ratings minus a validation slice (`protocols.with_hash_validation`), to
   predict that slice; the blend's weights are fitted on these predictions only;
2. on all the training ratings, to predict the test ratings, which the fitted blend combines.

So the test set is read once, for the score, as with a single model. The weights learned on
models fitted to 95% of the data are applied to the same models refitted on 100%, the usual
approximation (the refitted members are slightly stronger, so the blend is slightly
conservative).

Fitting is the expensive part (minutes per GLocal-K member), so `holdout_predictions` keeps
each member's predictions in a cache directory and a re-run, or a run after a crash, refits only
what is missing. The cache directory (under --workdir) may be local or on any file system
TensorFlow knows (gs://, ram://).
"""

from __future__ import annotations

import dataclasses
import io
import os
import time
from collections.abc import Callable, Mapping

import numpy as np
import tensorflow as tf

from common.data import fingerprint
from recsys.data import protocols
from recsys.data.interactions import Interactions

# Fits a model on the first table's ratings and predicts the second table's, in its row order.
Member = Callable[[Interactions, Interactions], np.ndarray]


@dataclasses.dataclass(frozen=True)
class Blend:
  """r̂ = clip(intercept + Σ_m weight_m · r̂_m): a ridge regression on member predictions."""

  names: tuple[str, ...]
  weights: np.ndarray
  intercept: float
  clip: tuple[float, float] = (1.0, 5.0)

  @classmethod
  def fit(cls, predictions: Mapping[str, np.ndarray], truth: np.ndarray,
          l2: float = 1.0) -> Blend:
    """Least squares of `truth` on the predictions (centred, so the intercept is not shrunk).

    Raises:
      ValueError: with no members, or predictions whose length differs from `truth`'s.
    """
    if not predictions:
      raise ValueError("a blend needs at least one member's predictions")
    names = tuple(predictions)
    x = np.stack([np.asarray(predictions[n], np.float64) for n in names], axis=1)
    y = np.asarray(truth, np.float64)
    if x.shape[0] != len(y):
      raise ValueError(f"{x.shape[0]} predictions per member for {len(y)} ratings: members must "
                       "predict the same rows as the truth, in its order")
    x_mean, y_mean = x.mean(axis=0), y.mean()
    xc = x - x_mean
    weights = np.linalg.solve(xc.T @ xc + l2 * np.eye(len(names)), xc.T @ (y - y_mean))
    return cls(names, weights, float(y_mean - x_mean @ weights))

  def predict(self, predictions: Mapping[str, np.ndarray]) -> np.ndarray:
    """The blended, clipped rating for every row of the members' predictions.

    Raises:
      ValueError: naming members the blend was fitted with that are missing.
    """
    missing = [n for n in self.names if n not in predictions]
    if missing:
      raise ValueError(f"the blend was fitted with {missing}, which are missing; pass "
                       f"predictions for all of {list(self.names)}")
    x = np.stack([np.asarray(predictions[n], np.float64) for n in self.names], axis=1)
    return np.clip(self.intercept + x @ self.weights, *self.clip)


@dataclasses.dataclass
class HoldoutPredictions:
  """Every member's predictions of the validation slice (fitted without it) and of the test set
  (fitted on all training ratings), and the seconds each fit took (kept in the cache too)."""

  validation: dict[str, np.ndarray]
  test: dict[str, np.ndarray]
  seconds: dict[str, dict[str, float]]  # phase ("validation" or "test") -> member -> seconds
  validation_rating: np.ndarray  # the true ratings of the validation slice, in its row order


def _tables_digest(*tables: Interactions) -> str:
  """Identifies the exact tables a member was fitted and scored on (part of its cache key)."""
  fp = fingerprint.Fingerprint("ratings")
  for table in tables:
    fp.update(table.user_id.astype(str), table.item_id.astype(str))
    if table.rating is not None:
      fp.update(np.asarray(table.rating, np.float32))
  return str(fp)


def holdout_predictions(members: Mapping[str, Member], base: Interactions, test: Interactions,
                        validation_fraction: float = 0.05, cache_dir: str | None = None,
                        log: Callable[[str], None] | None = None) -> HoldoutPredictions:
  """Fits every member on `base` minus its hash-validation slice to predict that slice, then
  on all of `base` to predict `test` (all validation fits first, so the blend can be judged
  before any test fit). With `cache_dir`, predictions already there are reused.
  """
  split = protocols.with_hash_validation(base, test, validation_fraction)
  out = HoldoutPredictions({}, {}, {"validation": {}, "test": {}}, split.validation.rating)
  for phase, train, target, store in (("validation", split.train, split.validation, out.validation),
                                      ("test", base, split.test, out.test)):
    tables = _tables_digest(train, target) if cache_dir else ""  # once per phase, not per member
    for name, member in members.items():
      key = fingerprint.Fingerprint("fit").update(name, tables).hexdigest()
      path = os.path.join(cache_dir, f"{phase}-{key}.npz") if cache_dir else None
      if path and tf.io.gfile.exists(path):
        with tf.io.gfile.GFile(path, "rb") as f, np.load(io.BytesIO(f.read())) as cached:
          store[name], out.seconds[phase][name] = cached["pred"], float(cached["seconds"])
        continue
      start = time.time()
      pred = np.asarray(member(train, target), np.float32)
      if pred.shape != (len(target),):
        raise RuntimeError(f"member {name!r} returned {pred.shape} predictions for {len(target)} rows")
      store[name], out.seconds[phase][name] = pred, time.time() - start
      if path:
        tf.io.gfile.makedirs(cache_dir)
        buffer = io.BytesIO()
        np.savez(buffer, pred=pred, seconds=out.seconds[phase][name])
        with tf.io.gfile.GFile(path + ".tmp.npz", "wb") as f:
          f.write(buffer.getvalue())
        # A crash leaves no half-written cache: the rename is atomic on a local disk, and on an
        # object store the object appears whole when its upload completes.
        tf.io.gfile.rename(path + ".tmp.npz", path, overwrite=True)
      if log:
        log(f"{phase} fit of {name}: {out.seconds[phase][name]:.0f} s")
  return out
