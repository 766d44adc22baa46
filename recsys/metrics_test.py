"""Full-catalogue metrics with seen items excluded, worked out by hand."""

import numpy as np
import pytest

from recsys import metrics
from recsys.features import Examples


def test_ranking_metrics_by_hand():
  m = metrics.ranking_metrics(np.array([0, 3, 20]), k=10)
  # hits at ranks 0 and 3: recall 2/3; ndcg (1/log2(2) + 1/log2(5)) / 3; mrr (1 + 1/4 + 1/21) / 3.
  assert m["recall@10"] == pytest.approx(2 / 3)
  assert m["ndcg@10"] == pytest.approx((1 + 1 / np.log2(5)) / 3)
  assert m["mrr"] == pytest.approx((1 + 0.25 + 1 / 21) / 3)


def _examples(users, targets):
  n = len(users)
  return Examples(np.array(users, dtype=object), np.full((n, 1), "", dtype=object),
                  np.zeros((n, 1), np.int64), np.array(targets, dtype=object), np.zeros(n, np.int64), None)


def test_seen_items_are_excluded_before_ranking():
  items = np.array(["a", "b", "c", "d"], dtype=object)
  scores = np.array([[4.0, 3.0, 2.0, 1.0]])  # a > b > c > d

  def score_fn(batch):
    return np.repeat(scores, len(batch), axis=0)

  index = {i: n for n, i in enumerate(items)}
  # Target c is third overall, but a and b are seen: it becomes first.
  ranks, topk = metrics.rank_of_targets(score_fn, _examples(["u"], ["c"]), index, {"u": {"a", "b"}}, k=2)
  assert ranks.tolist() == [0]
  assert [items[i] for i in topk[0]] == ["c", "d"]


def test_unknown_target_counts_as_a_miss():
  index = {"a": 0, "b": 1}
  ranks, _ = metrics.rank_of_targets(lambda b: np.ones((len(b), 2)), _examples(["u"], ["zzz"]), index, {}, k=1)
  assert ranks.tolist() == [2]


def test_coverage_and_popularity_bias():
  # 4 items with popularity 1 < 2 < 3 < 4; every list recommends the two most popular.
  out = metrics.coverage_and_popularity(np.array([[3, 2], [3, 2]]), np.array([1, 2, 3, 4]))
  assert out["coverage"] == 0.5
  assert out["popularity_pct"] == pytest.approx((1.0 + 2 / 3) / 2)


def test_evaluate_reports_slices():
  items = np.array(["a", "b", "c"], dtype=object)
  res = metrics.evaluate(lambda b: np.tile([3.0, 2.0, 1.0], (len(b), 1)), _examples(["u", "v"], ["a", "c"]),
                            items, {"a": 100, "b": 5}, {}, np.array([3, 60]), k=1)
  assert res["overall"]["recall@1"] == 0.5
  assert res["slices"]["item popularity: cold"]["recall@1"] == 0.0  # c never trained on
  assert res["slices"]["item popularity: pop 50-199"]["recall@1"] == 1.0


def test_personalisation_by_hand():
  # Lists {0,1}, {0,2}, {3,4} over 5 items: Jaccard 1/3, 0 and 0, mean 1/9; all 5 items covered.
  # The fourth row repeats user "a" and is left out (one list per user).
  topk = np.array([[0, 1], [0, 2], [3, 4], [1, 0]])
  out = metrics.personalisation(topk, np.array(["a", "b", "c", "a"]), n_items=5)
  assert out["users"] == 3
  assert out["user_coverage"] == 1.0
  assert out["overlap"] == pytest.approx(1 / 9)


def test_identical_lists_overlap_fully():
  out = metrics.personalisation(np.array([[2, 1], [1, 2]]), np.array(["a", "b"]), n_items=10,
                                   num_users=1000)
  assert out["overlap"] == 1.0
  assert out["user_coverage"] == 0.2


def test_cold_item_slice_counts_targets_with_at_most_five_training_interactions():
  items = np.array(["a", "b", "c", "d"], dtype=object)
  # Training counts: a 100, b 5 (cold: at most 5), c 6 (not cold), d never trained on (cold, 0).
  counts = {"a": 100, "b": 5, "c": 6}
  # Every query ranks a > b > c > d; with k=2 only targets a and b are hits.
  res = metrics.evaluate(lambda b: np.tile([4.0, 3.0, 2.0, 1.0], (len(b), 1)),
                         _examples(["u", "v", "w", "x", "y"], ["a", "b", "c", "d", "b"]),
                         items, counts, {}, np.array([3, 3, 3, 3, 3]), k=2)
  cold = res["slices"][metrics.COLD_ITEMS]
  assert metrics.COLD_ITEMS == "cold items: <= 5 training interactions"
  assert cold["n"] == 3  # targets b, d, b
  assert cold["recall@2"] == pytest.approx(2 / 3)  # b twice at rank 1; d at rank 3
  assert "ranks" not in res  # only on request, so result.json stays plain numbers


def test_evaluate_returns_each_querys_rank_on_request():
  items = np.array(["a", "b", "c"], dtype=object)
  res = metrics.evaluate(lambda b: np.tile([3.0, 2.0, 1.0], (len(b), 1)),
                         _examples(["u", "v"], ["c", "a"]), items, {"a": 1}, {}, np.array([1, 1]),
                         k=1, with_ranks=True)
  assert res["ranks"].tolist() == [2, 0]
