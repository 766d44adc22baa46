"""Protocols split by time per user and never let a test event into training."""

import numpy as np
import pytest

from recsys.data import protocols
from recsys.data.interactions import Interactions


def _table():
  # user a: 4 events, user b: 3 events, user c: 2 events (too few to hold out).
  return Interactions(
      user_id=np.array(["a", "a", "a", "a", "b", "b", "b", "c", "c"], dtype=object),
      item_id=np.array(["1", "2", "3", "4", "1", "5", "6", "7", "8"], dtype=object),
      timestamp=np.array([40, 10, 30, 20, 5, 6, 7, 1, 2]),
      rating=np.array([5, 4, 3, 2, 1, 2, 3, 4, 5], dtype=np.float32))


def test_leave_last_out_holds_out_each_users_latest_events():
  split = protocols.leave_last_out(_table())
  # a's order by time: 2(10) 4(20) 3(30) 1(40): test 1, validation 3.
  assert dict(zip(split.test.user_id, split.test.item_id, strict=True)) == {"a": "1", "b": "6"}
  assert dict(zip(split.validation.user_id, split.validation.item_id, strict=True)) == {"a": "3", "b": "5"}
  assert sorted(split.train.item_id) == ["1", "2", "4", "7", "8"]  # b's 1, a's 2 and 4, all of c


def test_leave_last_out_never_trains_on_the_future_of_a_user():
  split = protocols.leave_last_out(_table())
  for user, t in zip(split.test.user_id, split.test.timestamp, strict=True):
    assert all(split.train.timestamp[split.train.user_id == user] < t)


def test_leave_last_out_is_independent_of_row_order():
  t = _table()
  shuffled = t.take(np.random.default_rng(0).permutation(len(t)))
  a, b = protocols.leave_last_out(t), protocols.leave_last_out(shuffled)
  assert list(a.test.item_id) == list(b.test.item_id)
  assert list(a.train.item_id) == list(b.train.item_id)


def test_temporal_split_cuts_globally_by_time():
  split = protocols.temporal_split(_table(), validation_fraction=0.2, test_fraction=0.2)
  assert split.train.timestamp.max() <= split.validation.timestamp.min()
  assert split.validation.timestamp.max() <= split.test.timestamp.min()
  assert len(split.train) + len(split.validation) + len(split.test) == 9


def test_temporal_split_rejects_bad_fractions():
  with pytest.raises(ValueError, match="fractions"):
    protocols.temporal_split(_table(), validation_fraction=0.6, test_fraction=0.5)


def test_hash_validation_moves_a_fixed_share_of_base_and_leaves_test_alone():
  n = 4000
  base = Interactions(np.array([f"u{i % 50}" for i in range(n)], dtype=object),
                      np.array([f"i{i}" for i in range(n)], dtype=object), np.arange(n),
                      np.ones(n, np.float32))
  test = base.take(np.arange(10))
  split = protocols.with_hash_validation(base, test, validation_fraction=0.05)
  assert split.test is test
  assert len(split.train) + len(split.validation) == n
  assert 0.03 < len(split.validation) / n < 0.07
  assert not set(split.validation.item_id) & set(split.train.item_id)
  # A pure function of user:item: shuffling the rows holds out the same ratings.
  again = protocols.with_hash_validation(base.take(np.arange(n)[::-1]), test, 0.05)
  assert set(again.validation.item_id) == set(split.validation.item_id)
  with pytest.raises(ValueError, match="validation_fraction"):
    protocols.with_hash_validation(base, test, validation_fraction=1.0)
