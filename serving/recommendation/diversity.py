"""Re-selects k items from a larger retrieved set to trade relevance for variety.

* MMR (Carbonell & Goldstein, 1998): greedily take the item maximising
  `lambda * relevance - (1 - lambda) * max cosine similarity to the items taken`.
* A category cap: at most `max_per_category` items of one category, in relevance order.
Both keep the input order's meaning: the first item returned is the most relevant one.
"""

from __future__ import annotations

import numpy as np


def mmr(scores: np.ndarray, embeddings: np.ndarray, k: int, lam: float) -> np.ndarray:
  """Positions (into `scores`) of k items chosen by maximal marginal relevance."""
  unit = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
  # Scores are inner products of arbitrary scale; rescale to [0, 1] to weigh them
  # against cosine similarities.
  span = scores.max() - scores.min()
  rel = (scores - scores.min()) / span if span > 0 else np.ones_like(scores)
  chosen = [int(np.argmax(rel))]
  max_sim = unit @ unit[chosen[0]]
  while len(chosen) < min(k, len(scores)):
    value = lam * rel - (1 - lam) * max_sim
    value[chosen] = -np.inf
    nxt = int(np.argmax(value))
    chosen.append(nxt)
    max_sim = np.maximum(max_sim, unit @ unit[nxt])
  return np.array(chosen, dtype=np.int64)


def category_cap(order: np.ndarray, categories: np.ndarray, k: int, cap: int) -> np.ndarray:
  """The first k positions of `order` with at most `cap` per category."""
  counts: dict[str, int] = {}
  out = []
  for pos in order:
    c = categories[pos]
    if counts.get(c, 0) < cap:
      counts[c] = counts.get(c, 0) + 1
      out.append(pos)
      if len(out) == k:
        break
  return np.array(out, dtype=np.int64)
