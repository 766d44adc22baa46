"""Ranking metrics against values worked out by hand."""

import math

import numpy as np
import pytest

from common.metrics import ranking

SCORES = np.array([[0.1, 0.9, 0.5, 0.3],
                   [0.8, 0.2, 0.6, 0.4]])
# full ranking by score: user 0 -> [1, 2, 3, 0], user 1 -> [0, 2, 3, 1]
RANKED = np.array([[1, 2, 0, 3],
                   [3, 1, 0, 2]])
RELEVANT = [{2, 3}, {0}]
# user 0: relevant 2 at rank 2, 3 at rank 4; user 1: relevant 0 at rank 3


def test_top_k_orders_by_score_and_excludes_seen():
  np.testing.assert_array_equal(ranking.top_k(SCORES, 2), [[1, 2], [0, 2]])
  np.testing.assert_array_equal(ranking.top_k(SCORES, 4), [[1, 2, 3, 0], [0, 2, 3, 1]])
  # Seen items drop out: user 0 saw 1, user 1 saw 0 and 2.
  np.testing.assert_array_equal(ranking.top_k(SCORES, 2, exclude=[[1], (i for i in (0, 2))]),
                                [[2, 3], [3, 1]])
  np.testing.assert_array_equal(ranking.top_k([[1.0, 1.0, 1.0]], 2), [[0, 1]])  # ties: lower id


def test_exclude_seen_leaves_the_input_alone():
  out = ranking.exclude_seen(SCORES, [[0], []])
  assert out[0, 0] == -np.inf and SCORES[0, 0] == 0.1


def test_recall_at_k_by_hand():
  # k=2: user 0 finds {2} of {2, 3} -> 1/2; user 1 top-2 [3, 1] misses 0 -> 0; mean 0.25
  assert ranking.recall_at_k(RANKED, RELEVANT, 2) == pytest.approx(0.25)
  # k=3: user 0 still 1/2; user 1 finds 0 -> 1; mean 0.75
  assert ranking.recall_at_k(RANKED, RELEVANT, 3) == pytest.approx(0.75)
  assert ranking.recall_at_k(RANKED, [2, 0], 3) == pytest.approx(1.0)  # scalar relevant ids


def test_ndcg_at_k_by_hand():
  # k=2: user 0 DCG = 1/log2(3) = 0.6309, ideal (2 relevant) = 1 + 0.6309 -> 0.3869; user 1: 0
  u0 = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
  assert ranking.ndcg_at_k(RANKED, RELEVANT, 2) == pytest.approx(u0 / 2)  # 0.1934
  # k=3: user 1 hit at rank 3 -> (1/log2 4) / 1 = 0.5
  assert ranking.ndcg_at_k(RANKED, RELEVANT, 3) == pytest.approx((u0 + 0.5) / 2)  # 0.4434
  np.testing.assert_allclose(ranking.ndcg_at_k([[5, 6]], [{5}], 2, per_user=True), [1.0])


def test_mrr_by_hand():
  # first hits: user 0 at rank 2 (1/2), user 1 at rank 3 (1/3) -> 5/12
  assert ranking.mrr(RANKED, RELEVANT) == pytest.approx(5 / 12)
  assert ranking.mrr(RANKED, RELEVANT, k=2) == pytest.approx(0.25)  # user 1 misses the top 2


def test_users_without_relevant_items_are_skipped_or_nan_per_user():
  assert ranking.recall_at_k(RANKED, [{2, 3}, set()], 2) == pytest.approx(0.5)
  np.testing.assert_allclose(ranking.recall_at_k(RANKED, [{2, 3}, set()], 2, per_user=True),
                             [0.5, np.nan])


@pytest.mark.parametrize("fn, args, message", [
    (ranking.recall_at_k, (RANKED, RELEVANT, 5), r"k=5 must be in \[1, 4\]"),
    (ranking.ndcg_at_k, (RANKED, [{1}], 2), "relevant has 1 entries but ranked_ids has 2 rows"),
    (ranking.mrr, (RANKED, [set(), set()]), "no user has a relevant item"),
    (ranking.top_k, (SCORES, 2, [[9], []]), r"item ids outside \[0, 4\)"),
    (ranking.top_k, (SCORES, 2, [[1]]), "seen has 1 rows but scores has 2 users"),
    (ranking.top_k, (SCORES[0], 2), r"\[users, items\]"),
])
def test_bad_inputs(fn, args, message):
  with pytest.raises(ValueError, match=message):
    fn(*args)
