"""Recommend latency and throughput at 10k and 1M items, exact vs faiss.

    bazel run //serving/recommendation:bench              # ~5 min on 2 shared cores
    bazel run //serving/recommendation:bench -- --quick   # 10k only, shorter runs

For each catalogue size, a synthetic export with the recsys signatures (random
64-d candidate embeddings; the query tower is the mean of the history's
embeddings, so the serving path — history padding, in-graph brute force or faiss,
the ranking call — is the real one) is served by the real server. Closed-loop gRPC
clients (threads) send Recommend(k=10) for users with a history of 8 items at
several concurrency levels; the table gives QPS and p50/p95/p99 latency, and the
in-process cost of the same `Recommender.recommend` call (no RPC) beside it.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import tempfile
import threading
import time

import numpy as np
import tensorflow as tf

from serving.protos.trellis.serving.v1 import recommendation_service_pb2 as pb
from serving.recommendation import server_main
from serving.recommendation.client import RecommendationClient

DIM, HISTORY = 64, 8


class _SyntheticRecommender(tf.Module):
  """The recsys export's signatures over a fixed embedding table."""

  def __init__(self, table: np.ndarray, ids: np.ndarray):
    super().__init__()
    self.table = tf.Variable(table, trainable=False)
    self.ids = tf.constant(ids)
    self.index = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(self.ids, tf.range(len(ids), dtype=tf.int64)), -1)

  def _query(self, history_ids):
    rows = self.index.lookup(history_ids)
    emb = tf.gather(self.table, tf.maximum(rows, 0)) * tf.cast(rows >= 0, tf.float32)[..., None]
    return tf.reduce_mean(emb, axis=1), rows

  def query_embedding(self, user_id, history_ids, history_times, timestamp):
    return {"embedding": self._query(history_ids)[0]}

  def candidate_embedding(self, item_id):
    return {"embedding": tf.gather(self.table, tf.maximum(self.index.lookup(item_id), 0))}

  def rank(self, user_id, history_ids, history_times, timestamp, candidate_ids):
    q, _ = self._query(history_ids)
    c = tf.gather(self.table, tf.maximum(self.index.lookup(candidate_ids), 0))
    return {"scores": tf.einsum("bd,bcd->bc", q, c)}

  def recommend(self, user_id, history_ids, history_times, timestamp, k):
    q, rows = self._query(history_ids)
    scores = tf.matmul(q, self.table, transpose_b=True)
    idx = tf.where(rows >= 0)  # exclude the history, as the recsys export does
    seen = tf.stack([idx[:, 0], tf.gather_nd(rows, idx)], axis=1)
    mask = tf.scatter_nd(seen, tf.ones(tf.shape(seen)[0:1], tf.bool), tf.shape(scores, out_type=tf.int64))
    scores = tf.where(mask, -np.inf, scores)
    top = tf.math.top_k(scores, k)
    c = tf.gather(self.table, top.indices)
    return {"item_ids": tf.gather(self.ids, top.indices), "scores": top.values,
            "rank_scores": tf.einsum("bd,bkd->bk", q, c)}


def write_export(root: pathlib.Path, n: int, seed: int = 0) -> np.ndarray:
  """A recsys-shaped export with n items under root/recsys/1; returns the item ids."""
  rng = np.random.default_rng(seed)
  # Trained item embeddings cluster (categories, tastes); i.i.d. Gaussian vectors would be
  # the worst case for any ANN index, so items scatter around 1000 random centres.
  centres = rng.normal(size=(1000, DIM))
  table = ((centres[rng.integers(0, 1000, n)] + 0.5 * rng.normal(size=(n, DIM)))
           / np.sqrt(DIM)).astype(np.float32)
  ids = np.array([f"item_{i:07d}" for i in range(n)])
  module = _SyntheticRecommender(table, ids)
  q = dict(user_id=tf.TensorSpec([None], tf.string), history_ids=tf.TensorSpec([None, HISTORY], tf.string),
           history_times=tf.TensorSpec([None, HISTORY], tf.int64), timestamp=tf.TensorSpec([None], tf.int64))
  out = root / "recsys" / "1"
  tf.saved_model.save(module, str(out), signatures={
      "query_embedding": tf.function(module.query_embedding).get_concrete_function(**q),
      "candidate_embedding": tf.function(module.candidate_embedding).get_concrete_function(
          item_id=tf.TensorSpec([None], tf.string)),
      "rank": tf.function(module.rank).get_concrete_function(
          **q, candidate_ids=tf.TensorSpec([None, None], tf.string)),
      "recommend": tf.function(module.recommend).get_concrete_function(
          **q, k=tf.TensorSpec([], tf.int32))})
  (out / "assets").mkdir(exist_ok=True)
  (out / "assets" / "item_ids.txt").write_text("\n".join(ids) + "\n")
  np.save(out / "assets" / "candidate_embeddings.npy", table)
  (out / "assets.extra").mkdir(exist_ok=True)
  (out / "assets.extra" / "metadata.json").write_text(json.dumps({"config": {"model": {"max_history": HISTORY}}}))
  return ids


def _closed_loop(port: int, ids: np.ndarray, concurrency: int, seconds: float) -> tuple[float, np.ndarray]:
  latencies: list[float] = []
  lock = threading.Lock()
  stop = time.monotonic() + seconds

  def worker(seed):
    rng = np.random.default_rng(seed)
    mine = []
    with RecommendationClient(f"localhost:{port}", timeout=30) as c:
      while time.monotonic() < stop:
        history = list(ids[rng.integers(0, len(ids), HISTORY)])
        t = time.perf_counter()
        c.recommend(recent_item_ids=history, k=10)
        mine.append(time.perf_counter() - t)
    with lock:
      latencies.extend(mine)

  start = time.monotonic()
  threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  return len(latencies) / (time.monotonic() - start), np.array(latencies) * 1000


def _in_process(recommender, ids: np.ndarray, n: int = 50) -> float:
  rng = np.random.default_rng(1)
  times = []
  for i in range(n + 10):  # the first 10 warm up (graph tracing, caches) and are not timed
    request = pb.RecommendRequest(recent_item_ids=list(ids[rng.integers(0, len(ids), HISTORY)]), k=10)
    t = time.perf_counter()
    recommender.recommend(request)
    if i >= 10:
      times.append(time.perf_counter() - t)
  return float(np.percentile(times, 50) * 1000)


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--sizes", default="10000,1000000")
  p.add_argument("--concurrency", default="1,4,16")
  p.add_argument("--seconds", type=float, default=4.0, help="per concurrency level")
  p.add_argument("--quick", action="store_true", help="10k items, 2 s per level")
  args = p.parse_args(argv)
  sizes = [10_000] if args.quick else [int(s) for s in args.sizes.split(",")]
  seconds = 2.0 if args.quick else args.seconds
  rows = []
  for n in sizes:
    with tempfile.TemporaryDirectory() as tmp:
      root = pathlib.Path(tmp)
      t = time.perf_counter()
      ids = write_export(root, n)
      print(f"synthetic export of {n} items written in {time.perf_counter() - t:.1f} s", flush=True)
      for index in ("exact", "faiss"):
        limit = n if index == "exact" else 0
        running = server_main.start([f"--export_root={root}", "--port=0", "--rest_port=-1",
                                     "--poll_seconds=0", f"--history_db={root / 'h.sqlite'}",
                                     f"--exact_limit={limit}"])
        try:
          while index == "faiss" and "recall" not in next(iter(running.recommender.status().values()))["index"]:
            time.sleep(0.2)
          state = next(iter(running.recommender.status().values()))
          in_proc = _in_process(running.recommender, ids)
          for c in (int(x) for x in args.concurrency.split(",")):
            qps, lat = _closed_loop(running.server.port, ids, c, seconds)
            rows.append((n, state["index"].split(",")[0], state["recall"], c, qps,
                         *np.percentile(lat, [50, 95, 99]), in_proc))
            print(_fmt(rows[-1]), flush=True)
        finally:
          running.stop()
  print("\n| items | index | recall@10 | clients | QPS | p50 ms | p95 ms | p99 ms | in-process p50 ms | RPC/in-process p50 |")
  print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
  for r in rows:
    print(_fmt(r))
  return 0


def _fmt(r) -> str:
  n, index, recall, c, qps, p50, p95, p99, ip = r
  return (f"| {n:,} | {index} | {recall:.3f} | {c} | {qps:.0f} | {p50:.1f} | {p95:.1f} | {p99:.1f} | "
          f"{ip:.1f} | {p50 / ip:.2f}x |")


if __name__ == "__main__":
  raise SystemExit(main())
