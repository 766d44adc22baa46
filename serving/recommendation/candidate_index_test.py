"""Exact and faiss search agree; recall is measured; diversity re-selection works."""

import numpy as np

from serving.recommendation import candidate_index, diversity


def test_exact_search_by_hand():
  table = np.array([[1, 0], [0, 1], [1, 1], [-1, 0]], np.float32)
  # scores for q=[2, 1]: [2, 1, 3, -2] -> rows 2, 0, 1
  rows, scores = candidate_index.ExactIndex(table).search(np.array([2, 1], np.float32), 3)
  assert rows.tolist() == [2, 0, 1] and scores.tolist() == [3, 2, 1]
  # only rows 1 and 3 allowed -> 1 (score 1), 3 (score -2)
  rows, _ = candidate_index.ExactIndex(table).search(
      np.array([2, 1], np.float32), 3, allowed=np.array([False, True, False, True]))
  assert rows.tolist() == [1, 3]


def test_faiss_above_exact_limit_with_measured_recall():
  rng = np.random.default_rng(0)
  table = rng.normal(size=(3000, 16)).astype(np.float32)
  for kind in ("ivf", "hnsw"):
    index = candidate_index.build(table, candidate_index.IndexOptions(
        exact_limit=1000, kind=kind, recall_queries=50))
    assert index.kind == "faiss" and kind.upper() in index.name
    # IVF scanning 32 of 219 lists, HNSW with efSearch=128: both near exact on 3k points.
    assert 0.85 <= index.recall <= 1.0, (kind, index.recall)
  small = candidate_index.build(table[:500], candidate_index.IndexOptions(exact_limit=1000))
  assert small.kind == "exact" and small.recall == 1.0


def test_mmr_prefers_a_different_item_over_a_near_duplicate():
  emb = np.array([[1, 0], [0.99, 0.01], [0, 1]], np.float32)
  scores = np.array([1.0, 0.99, 0.8])
  assert diversity.mmr(scores, emb, 2, lam=1.0).tolist() == [0, 1]  # pure relevance
  assert diversity.mmr(scores, emb, 2, lam=0.5).tolist() == [0, 2]  # item 1 duplicates item 0


def test_category_cap():
  cats = np.array(["a", "a", "a", "b", "a", "c"], dtype=object)
  assert diversity.category_cap(np.arange(6), cats, 4, cap=2).tolist() == [0, 1, 3, 5]


def test_batched_search_finds_what_one_query_at_a_time_finds():
  rng = np.random.default_rng(1)
  table = rng.normal(size=(2000, 8)).astype(np.float32)
  queries = rng.normal(size=(70, 8)).astype(np.float32)  # 70: three chunks of 32, the last short
  exact = candidate_index.ExactIndex(table)
  faiss_index = candidate_index.FaissIndex(table, candidate_index.IndexOptions(recall_queries=20))
  for index in (exact, faiss_index):
    many = index.search_many(queries, 5)
    assert many.shape == (70, 5)
    for q, rows in zip(queries, many, strict=True):
      assert set(rows.tolist()) == set(index.search(q, 5)[0].tolist())
