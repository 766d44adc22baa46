"""Nearest candidates to a query embedding: exact brute force, or a faiss ANN index.

Scores are inner products, what the two-tower model was trained on. Up to
`exact_limit` items the server scores every item (NumPy over the export's
`candidate_embeddings.npy`, the same numbers the in-graph `recommend` computes).
Above it, it builds a faiss index on inner product (IVF by default, HNSW optional) when a version loads (in a
background thread: the version answers with exact search until the index is ready)
and measures the index's recall@k against exact search on a sample of catalogue
items used as queries, so the speed/quality trade is a reported number, not a hope.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class IndexOptions:
  exact_limit: int = 100_000  # catalogues up to this size are searched exactly
  kind: str = "ivf"  # "ivf" (IVFFlat: builds in seconds at 1M) or "hnsw" (faster search, slow build)
  nlist: int = 0  # IVF lists; 0 = 4 * sqrt(n)
  nprobe: int = 32  # IVF lists scanned per query: latency vs recall
  hnsw_m: int = 32  # graph degree: memory and build time vs recall
  ef_construction: int = 80
  ef_search: int = 128  # search breadth: latency vs recall
  recall_queries: int = 200
  recall_k: int = 10


class ExactIndex:
  """Brute force over the whole table (or an allowed subset of rows)."""

  kind = "exact"

  def __init__(self, embeddings: np.ndarray):
    self.embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
    self.recall = 1.0

  def __len__(self) -> int:
    return len(self.embeddings)

  def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """Top-k rows for one query [d]: (rows [<=k], scores); `allowed` is a bool row mask."""
    if allowed is not None:
      rows = np.flatnonzero(allowed)
      scores = self.embeddings[rows] @ query
    else:
      rows, scores = None, self.embeddings @ query
    k = min(k, len(scores))
    if k <= 0:
      return np.zeros(0, np.int64), np.zeros(0, np.float32)
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return (top if rows is None else rows[top]).astype(np.int64), scores[top]

  def search_many(self, queries: np.ndarray, k: int, chunk: int = 32) -> np.ndarray:
    """Top-k rows [q, k] for queries [q, d], scanning the table once per `chunk` queries."""
    k = min(k, len(self))
    out = []
    for start in range(0, len(queries), chunk):
      scores = queries[start:start + chunk] @ self.embeddings.T  # [chunk, n]
      out.append(np.argpartition(-scores, k - 1, axis=1)[:, :k])  # unordered top-k per row
    return np.concatenate(out).astype(np.int64)


class FaissIndex:
  """IVF or HNSW on inner product; restricted searches fall back to exact over the allowed rows."""

  kind = "faiss"

  def __init__(self, embeddings: np.ndarray, options: IndexOptions = IndexOptions()):
    import faiss  # imported here: only catalogues above exact_limit need it
    self.exact = ExactIndex(embeddings)
    start = time.perf_counter()
    table, d = self.exact.embeddings, embeddings.shape[1]
    if options.kind == "hnsw":
      self.index = faiss.IndexHNSWFlat(d, options.hnsw_m, faiss.METRIC_INNER_PRODUCT)
      self.index.hnsw.efConstruction = options.ef_construction
      self.index.add(table)
      self.index.hnsw.efSearch = options.ef_search
      self.name = f"faiss HNSW{options.hnsw_m} efSearch={options.ef_search}"
    elif options.kind == "ivf":
      nlist = options.nlist or int(4 * np.sqrt(len(table)))
      self.index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
      # k-means on a sample: faiss needs ~40 points per list, more only costs build time.
      sample = table[np.random.default_rng(0).choice(len(table), min(len(table), 64 * nlist), replace=False)]
      self.index.train(sample)
      self.index.add(table)
      self.index.nprobe = options.nprobe
      self.name = f"faiss IVF{nlist} nprobe={options.nprobe}"
    else:
      raise ValueError(f"unknown index kind {options.kind!r}; use 'ivf' or 'hnsw'")
    self.build_seconds = time.perf_counter() - start
    self.recall = measure_recall(self, self.exact, options.recall_queries, options.recall_k)

  def __len__(self) -> int:
    return len(self.exact)

  def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    if allowed is not None:
      # A filter can make the ANN's neighbourhood empty; exact over the allowed rows
      # is both correct and cheap when the filter is selective.
      return self.exact.search(query, k, allowed)
    scores, rows = self.index.search(query[None, :].astype(np.float32), min(k, len(self)))
    keep = rows[0] >= 0
    return rows[0][keep].astype(np.int64), scores[0][keep]

  def search_many(self, queries: np.ndarray, k: int) -> np.ndarray:
    """Top-k rows [q, k] (-1 where fewer were found) for queries [q, d], in one faiss call."""
    return self.index.search(np.ascontiguousarray(queries, np.float32), min(k, len(self)))[1]


def measure_recall(index, exact: ExactIndex, queries: int, k: int, seed: int = 0) -> float:
  """Mean |ANN top-k ∩ exact top-k| / k, querying with catalogue items' own embeddings.

  Both sides search all queries in batches (the exact side reads the table once per 32
  queries, not once per query: ~20 s less of a 1M-item build on 2 busy cores).
  """
  rng = np.random.default_rng(seed)
  picks = rng.choice(len(exact), size=min(queries, len(exact)), replace=False)
  q = exact.embeddings[picks]
  got, want = index.search_many(q, k), exact.search_many(q, k)
  hits = sum(len(set(g.tolist()) & set(w.tolist())) for g, w in zip(got, want, strict=True))
  return hits / (len(picks) * k)


def build(embeddings: np.ndarray, options: IndexOptions = IndexOptions()) -> ExactIndex | FaissIndex:
  """Exact up to `options.exact_limit` items, else faiss (logs its recall)."""
  if len(embeddings) <= options.exact_limit:
    return ExactIndex(embeddings)
  index = FaissIndex(embeddings, options)
  log.info("built %s over %d items in %.1f s; recall@%d vs exact = %.3f",
           index.name, len(embeddings), index.build_seconds, options.recall_k, index.recall)
  return index
