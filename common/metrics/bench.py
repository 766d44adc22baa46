"""Full-catalog ranking evaluation cost at MovieLens-1M scale (6,040 users × 3,706 items).

    bazel run //common/metrics:bench

Compares `ranking.top_k` (argpartition, then sort only the k winners) with a
full `np.argsort` of every user's scores, checks they return the same lists,
and times the metrics on the result. Random scores; the cost does not depend
on their values.
"""

from __future__ import annotations

import time

import numpy as np
from absl import app, flags

from common.metrics import ranking, slices

_USERS = flags.DEFINE_integer("users", 6040, "number of users (MovieLens-1M: 6,040)")
_ITEMS = flags.DEFINE_integer("items", 3706, "number of items (MovieLens-1M: 3,706 rated)")
_REPEATS = flags.DEFINE_integer("repeats", 3, "timing repeats; the best is reported")


def _best_seconds(fn, repeats: int) -> tuple[float, object]:
  best, result = float("inf"), None
  for _ in range(repeats):
    start = time.perf_counter()
    result = fn()
    best = min(best, time.perf_counter() - start)
  return best, result


def _full_sort_top_k(scores: np.ndarray, k: int) -> np.ndarray:
  # Stable sort of -scores gives descending scores with lower ids first on ties.
  return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def main(argv):
  del argv
  rng = np.random.default_rng(0)
  scores = rng.standard_normal((_USERS.value, _ITEMS.value)).astype(np.float32)
  # ~165 training items per user (ML-1M's mean), excluded from ranking as in the protocol.
  seen = [rng.choice(_ITEMS.value, size=165, replace=False) for _ in range(_USERS.value)]
  held_out = [rng.choice(_ITEMS.value, size=1)[0] for _ in range(_USERS.value)]
  masked = ranking.exclude_seen(scores, seen)
  rows = {}
  for k in (10, 100):
    t_part, ours = _best_seconds(lambda k=k: ranking.top_k(masked, k), _REPEATS.value)
    t_sort, full = _best_seconds(lambda k=k: _full_sort_top_k(masked, k), _REPEATS.value)
    assert np.array_equal(ours, full), "top_k disagrees with a full sort"
    t_metrics, _ = _best_seconds(lambda ours=ours, k=k: (
        ranking.recall_at_k(ours, held_out, k), ranking.ndcg_at_k(ours, held_out, k),
        ranking.mrr(ours, held_out)), _REPEATS.value)
    rows[f"k={k}"] = {"top_k_ms": 1e3 * t_part, "argsort_ms": 1e3 * t_sort,
                      "recall+ndcg+mrr_ms": 1e3 * t_metrics}
  t_exclude, _ = _best_seconds(lambda: ranking.exclude_seen(scores, seen), _REPEATS.value)
  print(slices.format_table(
      rows, ratios=[("argsort_ms", "top_k_ms")], digits=1, key_header="list",
      title=f"full-catalog ranking, {_USERS.value} users x {_ITEMS.value} items "
            f"(exclude_seen: {1e3 * t_exclude:.1f} ms; best of {_REPEATS.value})"))


if __name__ == "__main__":
  app.run(main)
