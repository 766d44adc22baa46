"""Top-k retrieval metrics: recall@k, NDCG@k, MRR, and full-catalog ranking helpers.

The protocol of the field (e.g. MovieLens leave-last-out): score every item in
the catalog for each user, remove the items the user already interacted with
in training (they would otherwise crowd the top of the list), take the top k,
and compare with the held-out items:

    scores = user_emb @ item_emb.T                       # [users, items]
    ranked = ranking.top_k(scores, k=100, exclude=train_items_per_user)
    ranking.recall_at_k(ranked, held_out_per_user, k=10)

`relevant` is one entry per user: an item id, or an iterable of item ids.
Users with no relevant item are skipped (their recall is undefined); pass
`per_user=True` to get one value per user (NaN where undefined), e.g. to slice
by user activity with `slices.per_slice`.

Relevance is binary. Full-catalog scoring costs O(users × items) memory here;
for catalogs beyond ~10^6 items score users in batches and concatenate `top_k`
results.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def _float_dtype(scores) -> np.dtype:
  """Keeps float32 scores float32 (half the memory of a float64 copy at catalog scale)."""
  dtype = np.asarray(scores).dtype
  return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def exclude_seen(scores, seen: Sequence[Iterable[int]]) -> np.ndarray:
  """Returns a float copy of `scores` [users, items] with each user's seen items at -inf."""
  scores = np.array(scores, dtype=_float_dtype(scores))  # a copy: the caller's scores stay intact
  if scores.ndim != 2:
    raise ValueError(f"scores must be [users, items], got shape {scores.shape}")
  if len(seen) != scores.shape[0]:
    raise ValueError(f"seen has {len(seen)} rows but scores has {scores.shape[0]} users; pass "
                     "one iterable of item ids per user (empty for none)")
  seen = [np.asarray(s if isinstance(s, (np.ndarray, list, tuple)) else list(s),  # sets, generators
                    dtype=np.int64).reshape(-1) for s in seen]
  rows = np.concatenate([np.full(len(s), u) for u, s in enumerate(seen)] or [[]])
  cols = np.concatenate(seen or [[]])
  if cols.size and (cols.min() < 0 or cols.max() >= scores.shape[1]):
    raise ValueError(f"seen holds item ids outside [0, {scores.shape[1]})")
  scores[rows.astype(np.int64), cols.astype(np.int64)] = -np.inf
  return scores


def top_k(scores, k: int, exclude: Sequence[Iterable[int]] | None = None) -> np.ndarray:
  """Item ids [users, k] ordered by descending score (ties: lower id first).

  Args:
    scores: [users, items].
    k: list length; must not exceed the number of items.
    exclude: optional per-user item ids to leave out (see `exclude_seen`).
  """
  if exclude is not None:
    scores = exclude_seen(scores, exclude)
  else:
    scores = np.asarray(scores, dtype=_float_dtype(scores))  # no copy for float input
  if scores.ndim != 2:
    raise ValueError(f"scores must be [users, items], got shape {scores.shape}")
  if not 0 < k <= scores.shape[1]:
    raise ValueError(f"k={k} must be in [1, {scores.shape[1]}] (the number of items)")
  # argpartition finds the top k in O(items); only those k are then sorted.
  part = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < scores.shape[1] else \
      np.tile(np.arange(scores.shape[1]), (scores.shape[0], 1))
  part_scores = np.take_along_axis(scores, part, axis=1)
  order = np.lexsort((part, -part_scores), axis=1)
  return np.take_along_axis(part, order, axis=1)


def _relevant_sets(relevant, n: int) -> list[set[int]]:
  if len(relevant) != n:
    raise ValueError(f"relevant has {len(relevant)} entries but ranked_ids has {n} rows; pass one "
                     "item id or iterable of item ids per user")
  return [{int(r)} if np.isscalar(r) or getattr(r, "ndim", 1) == 0 else {int(i) for i in r}
          for r in relevant]


def _ranked(ranked_ids, k: int | None) -> np.ndarray:
  ranked = np.asarray(ranked_ids)
  if ranked.ndim != 2:
    raise ValueError(f"ranked_ids must be [users, list_length], got shape {ranked.shape}")
  if k is not None:
    if not 0 < k <= ranked.shape[1]:
      raise ValueError(f"k={k} must be in [1, {ranked.shape[1]}] (the ranked list length); "
                       "rank more items with top_k(scores, k)")
    ranked = ranked[:, :k]
  return ranked


def _reduce(values: np.ndarray, per_user: bool):
  if per_user:
    return values
  defined = values[~np.isnan(values)]
  if defined.size == 0:
    raise ValueError("no user has a relevant item; nothing to score")
  return float(defined.mean())


def recall_at_k(ranked_ids, relevant, k: int, *, per_user: bool = False):
  """Fraction of a user's relevant items found in their top k, averaged over users."""
  ranked = _ranked(ranked_ids, k)
  sets = _relevant_sets(relevant, ranked.shape[0])
  values = np.array([len(s.intersection(row.tolist())) / len(s) if s else np.nan
                     for row, s in zip(ranked, sets, strict=True)])
  return _reduce(values, per_user)


def ndcg_at_k(ranked_ids, relevant, k: int, *, per_user: bool = False):
  """Normalised discounted cumulative gain with binary relevance.

  DCG = sum over hits at 1-based rank r of 1 / log2(r + 1); it is divided by
  the DCG of a perfect list (all relevant items first, at most k of them).
  """
  ranked = _ranked(ranked_ids, k)
  sets = _relevant_sets(relevant, ranked.shape[0])
  discounts = 1.0 / np.log2(np.arange(2, k + 2))
  values = []
  for row, s in zip(ranked, sets, strict=True):
    if not s:
      values.append(np.nan)
      continue
    hits = np.fromiter((int(i) in s for i in row), dtype=bool, count=len(row))
    values.append(discounts[hits].sum() / discounts[:min(len(s), k)].sum())
  return _reduce(np.array(values), per_user)


def mrr(ranked_ids, relevant, k: int | None = None, *, per_user: bool = False):
  """Mean reciprocal rank of the first relevant item (0 if none in the list / top k)."""
  ranked = _ranked(ranked_ids, k)
  sets = _relevant_sets(relevant, ranked.shape[0])
  values = []
  for row, s in zip(ranked, sets, strict=True):
    if not s:
      values.append(np.nan)
      continue
    hit = next((rank for rank, i in enumerate(row.tolist(), start=1) if i in s), None)
    values.append(1.0 / hit if hit else 0.0)
  return _reduce(np.array(values), per_user)
