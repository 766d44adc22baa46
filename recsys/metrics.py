"""Full-catalogue ranking metrics: Recall@K, NDCG@K, MRR, coverage, popularity bias, personalisation.

Every candidate in the catalogue is scored for every test query (no sampled
negatives: sampled metrics overstate quality and can reorder models, Krichene &
Rendle, KDD 2020). Items the user has already interacted with are excluded before
ranking, as a deployed recommender would. With one held-out target per query
(leave-last-out), Recall@K is the hit rate and NDCG@K = 1 / log2(rank + 2).

How personal the lists are is measured on 1,000 users' top-K lists (all users when fewer):
their catalogue coverage, and their mean pairwise overlap, the Jaccard index |A ∩ B| / |A ∪ B|
of two users' lists averaged over all pairs. A model that shows everyone the same list has
overlap 1 and covers K items; lists that follow each user's history overlap little.

Results are reported overall and per slice: user activity (history length),
target popularity (training count), targets never seen in training, and cold items
(targets with at most `COLD_ITEM_MAX` training interactions, where an id embedding has
learned little and content has to carry the item), because an average hides who the model fails.
"""

from __future__ import annotations

import collections
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from recsys.features import Examples

# A target whose item has at most this many training interactions is a cold item (issue 18).
COLD_ITEM_MAX = 5
COLD_ITEMS = f"cold items: <= {COLD_ITEM_MAX} training interactions"

ScoreFn = Callable[[Examples], np.ndarray]  # rows -> [rows, num_items] scores in catalogue order


def _take(ex: Examples, sl: slice) -> Examples:
  return Examples(ex.user_id[sl], ex.history_ids[sl], ex.history_times[sl], ex.item_id[sl],
                  ex.timestamp[sl], None if ex.rating is None else ex.rating[sl])


def rank_of_targets(score_fn: ScoreFn, examples: Examples, item_index: dict[str, int],
                    seen: dict[str, set[str]], k: int = 10, batch_size: int = 256
                    ) -> tuple[np.ndarray, np.ndarray]:
  """0-based rank of each target among unseen items, and each query's top-k item rows.

  Targets missing from the catalogue get rank = num_items (never retrieved).
  """
  n_items = len(item_index)
  ranks = np.empty(len(examples), dtype=np.int64)
  topk = np.empty((len(examples), k), dtype=np.int64)
  for start in range(0, len(examples), batch_size):
    batch = _take(examples, slice(start, start + batch_size))
    scores = np.array(score_fn(batch), dtype=np.float64, copy=True)
    if scores.shape != (len(batch), n_items):
      raise ValueError(f"score_fn returned {scores.shape}, expected {(len(batch), n_items)}")
    for row, user in enumerate(batch.user_id):
      target = item_index.get(batch.item_id[row], -1)
      excluded = [item_index[i] for i in seen.get(user, ()) if i in item_index and
                  item_index[i] != target]
      scores[row, excluded] = -np.inf
    target_rows = np.array([item_index.get(i, -1) for i in batch.item_id])
    target_scores = scores[np.arange(len(batch)), np.maximum(target_rows, 0)]
    # Ties count against the model: rank = number of items scoring >= target, minus itself.
    r = (scores >= target_scores[:, None]).sum(axis=1) - 1
    ranks[start:start + len(batch)] = np.where(target_rows >= 0, r, n_items)
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, 1), axis=1, kind="stable")
    topk[start:start + len(batch)] = np.take_along_axis(part, order, 1)
  return ranks, topk


def ranking_metrics(ranks: np.ndarray, k: int) -> dict[str, float]:
  """Recall@k, NDCG@k and MRR from 0-based target ranks (one target per query).

  ranks [0, 3, 20] with k=10: recall 2/3; ndcg (1/log2(2) + 1/log2(5)) / 3 = 0.5436; mrr (1 + 1/4 + 1/21) / 3.
  """
  ranks = np.asarray(ranks)
  hit = ranks < k
  return {
      f"recall@{k}": float(hit.mean()) if len(ranks) else float("nan"),
      f"ndcg@{k}": float(np.where(hit, 1.0 / np.log2(ranks + 2.0), 0.0).mean()) if len(ranks) else float("nan"),
      "mrr": float((1.0 / (ranks + 1.0)).mean()) if len(ranks) else float("nan"),
  }


def coverage_and_popularity(topk: np.ndarray, item_popularity: np.ndarray) -> dict[str, float]:
  """Catalogue coverage of all top-k lists, and the mean popularity percentile recommended.

  A percentile near 1.0 means the model recommends only blockbusters.
  """
  n_items = len(item_popularity)
  pct = np.argsort(np.argsort(item_popularity, kind="stable"), kind="stable") / max(n_items - 1, 1)
  return {"coverage": len(np.unique(topk)) / n_items, "popularity_pct": float(pct[topk].mean())}


def personalisation(topk: np.ndarray, user_ids: np.ndarray, n_items: int,
                    num_users: int = 1000) -> dict[str, float]:
  """Coverage and mean pairwise Jaccard overlap of the first `num_users` distinct users' lists.

  Lists [[0, 1], [0, 2], [3, 4]] over 5 items: coverage 5/5; Jaccard of the pairs
  1/3, 0, 0, so overlap 1/9.
  """
  _, first = np.unique(np.asarray(user_ids, dtype=str), return_index=True)
  rows = topk[np.sort(first)[:num_users]]
  n, k = rows.shape
  if n < 2:
    return {"users": n, "user_coverage": len(np.unique(rows)) / n_items, "overlap": float("nan")}
  onehot = sp.csr_matrix((np.ones(n * k), (np.repeat(np.arange(n), k), rows.ravel())),
                         shape=(n, n_items))
  onehot.data[:] = 1.0  # an item repeated in one list counts once
  sizes = np.asarray(onehot.sum(axis=1)).ravel()
  shared = (onehot @ onehot.T).toarray()
  jaccard = shared / (sizes[:, None] + sizes[None, :] - shared)
  upper = np.triu_indices(n, 1)
  return {"users": n, "user_coverage": len(np.unique(rows)) / n_items,
          "overlap": float(jaccard[upper].mean())}


def popularity_buckets(counts: np.ndarray, edges=(0, 1, 10, 50, 200)) -> np.ndarray:
  """Bucket labels like 'pop 10-49' for training counts; 'cold' for items never trained on."""
  labels = np.empty(len(counts), dtype=object)
  for lo, hi in zip(edges, [*edges[1:], None], strict=True):
    sel = (counts >= lo) & (counts < hi) if hi is not None else counts >= lo
    labels[sel] = "cold" if (lo == 0 and hi == 1) else (f"pop {lo}-{hi - 1}" if hi else f"pop {lo}+")
  return labels


def activity_buckets(history_len: np.ndarray, edges=(1, 5, 20, 50, 200)) -> np.ndarray:
  labels = np.empty(len(history_len), dtype=object)
  for lo, hi in zip(edges, [*edges[1:], None], strict=True):
    sel = (history_len >= lo) & (history_len < hi) if hi is not None else history_len >= lo
    labels[sel] = f"hist {lo}-{hi - 1}" if hi else f"hist {lo}+"
  labels[history_len < edges[0]] = "hist 0"
  return labels


def evaluate(score_fn: ScoreFn, examples: Examples, item_ids: np.ndarray,
             train_counts: dict[str, int], seen: dict[str, set[str]], user_history_len: np.ndarray,
             k: int = 10, with_ranks: bool = False) -> dict:
  """Overall and per-slice ranking metrics for one model (see the module docstring).

  With `with_ranks`, `result["ranks"]` also holds each query's 0-based target rank (in query
  order), for per-query analyses (fairness groups, paired comparisons of two models).
  """
  item_index = {item: i for i, item in enumerate(item_ids)}
  ranks, topk = rank_of_targets(score_fn, examples, item_index, seen, k=k)
  popularity = np.array([train_counts.get(i, 0) for i in item_ids], dtype=np.float64)
  result = {"overall": {**ranking_metrics(ranks, k), **coverage_and_popularity(topk, popularity),
                        **personalisation(topk, examples.user_id, len(item_ids)), "n": len(ranks)}}
  target_counts = np.array([train_counts.get(i, 0) for i in examples.item_id])
  slices = collections.OrderedDict()
  for name, labels in (("item popularity", popularity_buckets(target_counts)),
                       ("user activity", activity_buckets(np.asarray(user_history_len)))):
    for label in sorted(set(labels)):
      sel = labels == label
      slices[f"{name}: {label}"] = {**ranking_metrics(ranks[sel], k), "n": int(sel.sum())}
  cold = target_counts <= COLD_ITEM_MAX
  slices[COLD_ITEMS] = {**ranking_metrics(ranks[cold], k), "n": int(cold.sum())}
  result["slices"] = dict(slices)
  if with_ranks:
    result["ranks"] = ranks
  return result
