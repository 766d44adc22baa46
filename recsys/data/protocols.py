"""Evaluation protocols: how interactions are split into what a model sees and what it is judged on.

* `leave_last_out`: each user's last interaction (by time) is the test target, the one
  before it the validation target, everything earlier is training. The protocol of
  sequential recommendation (SASRec, BERT4Rec); ranked against the full catalogue.
* `temporal_split`: one global cut in time: everything before the cut trains, everything
  after tests. Closest to deployment (no future leaks across users).
* MovieLens' canonical rating splits (u1..u5, ua, ub) live in `movielens.load_split`;
  `with_hash_validation` sets aside a hash-chosen share of their base ratings to stop
  training on, so the canonical test file is never looked at before the final score.

Every protocol is a pure function of the data (ties on time are broken by item id),
so the same data always gives the same split.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from common.data import splits
from recsys.data.interactions import Interactions


@dataclasses.dataclass(frozen=True)
class Split:
  train: Interactions
  validation: Interactions
  test: Interactions


def leave_last_out(table: Interactions, min_interactions: int = 3) -> Split:
  """Last event per user -> test, second to last -> validation, the rest -> train.

  Users with fewer than `min_interactions` events keep all of them in train.
  """
  t = table.sorted_by_time()
  n = len(t)
  # Position of each row from the end of its user's sequence (0 = last).
  boundaries = np.flatnonzero(np.r_[t.user_id[1:] != t.user_id[:-1], True])  # last row of each user
  user_end = np.repeat(boundaries, np.diff(np.r_[-1, boundaries]))
  from_end = user_end - np.arange(n)
  user_len = np.repeat(np.diff(np.r_[-1, boundaries]), np.diff(np.r_[-1, boundaries]))
  eligible = user_len >= min_interactions
  test = eligible & (from_end == 0)
  validation = eligible & (from_end == 1)
  return Split(t.take(~(test | validation)), t.take(validation), t.take(test))


def temporal_split(table: Interactions, validation_fraction: float = 0.1,
                   test_fraction: float = 0.1) -> Split:
  """Global cut by time at the (1 - test - validation) and (1 - test) quantiles."""
  if not (validation_fraction > 0 and test_fraction > 0 and validation_fraction + test_fraction < 1):
    raise ValueError("fractions must be positive and sum to less than 1")
  t = table.take(np.lexsort((table.item_id, table.user_id, table.timestamp)))
  n = len(t)
  a = round(n * (1 - validation_fraction - test_fraction))
  b = round(n * (1 - test_fraction))
  idx = np.arange(n)
  return Split(t.take(idx < a), t.take((idx >= a) & (idx < b)), t.take(idx >= b))


def with_hash_validation(base: Interactions, test: Interactions,
                         validation_fraction: float = 0.05) -> Split:
  """A fixed (base, test) split, with the ratings whose "user:item" key hashes into the
  validation share moved from base to validation (the same ones on every machine)."""
  if not 0 < validation_fraction < 1:
    raise ValueError(f"validation_fraction={validation_fraction} must be between 0 and 1")
  fractions = (1 - validation_fraction, validation_fraction, 0.0)
  held = np.array([splits.split_of(f"{u}:{i}", fractions) == "validation"
                   for u, i in zip(base.user_id, base.item_id, strict=True)], dtype=bool)
  return Split(base.take(~held), base.take(held), test)
