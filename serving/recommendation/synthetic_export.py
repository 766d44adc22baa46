"""A recsys-shaped export of any size, without training: for the benchmark and fast tests.

    ids = synthetic_export.write_export(export_root, n=1_000_000)   # -> export_root/recsys/1

It has the four signatures of `recsys/export.py` (`query_embedding`,
`candidate_embedding`, `rank`, `recommend`) with the same contract (raw histories of any
length, "" entries ignored, the last `max_history` events read and excluded from `recommend`),
and its assets and metadata (`item_ids.txt`, `candidate_embeddings.npy`, `metadata.json` with
`extra.max_history`), so the serving path — raw history in, in-graph brute force or faiss, the
ranking call — is the real one. The query tower is the mean of the window's embeddings.
"""

from __future__ import annotations

import pathlib

import numpy as np
import tensorflow as tf

from common.export import metadata

DIM, HISTORY = 64, 8


class _SyntheticRecommender(tf.Module):
  """The recsys export's signatures over a fixed embedding table.

  Every function reads the table variable once, densely, and gathers from that tensor:
  one `tf.gather` on the variable itself (a ResourceGather) switches it to copy-on-read
  for good, after which every dense read — the brute-force matmul — copies the whole
  table (256 MB at 1M items, ~0.4 s per call on this machine instead of ~0.1 s).
  """

  def __init__(self, table: np.ndarray, ids: np.ndarray):
    super().__init__()
    self.table = tf.Variable(table, trainable=False)
    self.ids = tf.constant(ids)
    self.index = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(self.ids, tf.range(len(ids), dtype=tf.int64)), -1)

  def _query(self, table, history_ids):
    # The catalogue rows of each row's last HISTORY events ("" is padding), -1 where it has fewer.
    events = tf.ragged.boolean_mask(self.index.lookup(history_ids), tf.not_equal(history_ids, ""))
    rows = events[:, -HISTORY:].to_tensor(default_value=-1, shape=[None, HISTORY])
    emb = tf.gather(table, tf.maximum(rows, 0)) * tf.cast(rows >= 0, tf.float32)[..., None]
    return tf.reduce_mean(emb, axis=1), rows

  def query_embedding(self, user_id, history_ids, history_times, timestamp):
    return {"embedding": self._query(self.table.read_value(), history_ids)[0]}

  def candidate_embedding(self, item_id):
    table = self.table.read_value()
    return {"embedding": tf.gather(table, tf.maximum(self.index.lookup(item_id), 0))}

  def rank(self, user_id, history_ids, history_times, timestamp, candidate_ids):
    table = self.table.read_value()
    q, _ = self._query(table, history_ids)
    c = tf.gather(table, tf.maximum(self.index.lookup(candidate_ids), 0))
    return {"scores": tf.einsum("bd,bcd->bc", q, c)}

  def recommend(self, user_id, history_ids, history_times, timestamp, k):
    table = self.table.read_value()
    q, rows = self._query(table, history_ids)
    scores = tf.matmul(q, table, transpose_b=True)
    idx = tf.where(rows >= 0)  # exclude the history, as the recsys export does
    seen = tf.stack([idx[:, 0], tf.gather_nd(rows, idx)], axis=1)
    mask = tf.scatter_nd(seen, tf.ones(tf.shape(seen)[0:1], tf.bool), tf.shape(scores, out_type=tf.int64))
    scores = tf.where(mask, -np.inf, scores)
    top = tf.math.top_k(scores, k)
    c = tf.gather(table, top.indices)
    return {"item_ids": tf.gather(self.ids, top.indices), "scores": top.values,
            "rank_scores": tf.einsum("bd,bkd->bk", q, c)}


def item_ids(n: int) -> np.ndarray:
  """The ids `write_export(.., n)` gives its items: item_0000000 ..."""
  return np.array([f"item_{i:07d}" for i in range(n)])


def write_export(root: pathlib.Path, n: int, seed: int = 0, version: int = 1) -> np.ndarray:
  """A recsys-shaped export with n items under root/recsys/<version>; returns the item ids."""
  rng = np.random.default_rng(seed)
  # Trained item embeddings cluster (categories, tastes); i.i.d. Gaussian vectors would be
  # the worst case for any ANN index, so items scatter around 1000 random centres.
  centres = rng.normal(size=(1000, DIM))
  table = ((centres[rng.integers(0, 1000, n)] + 0.5 * rng.normal(size=(n, DIM)))
           / np.sqrt(DIM)).astype(np.float32)
  ids = item_ids(n)
  module = _SyntheticRecommender(table, ids)
  q = dict(user_id=tf.TensorSpec([None], tf.string), history_ids=tf.TensorSpec([None, None], tf.string),
           history_times=tf.TensorSpec([None, None], tf.int64), timestamp=tf.TensorSpec([None], tf.int64))
  out = pathlib.Path(root) / "recsys" / str(version)
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
  metadata.write(out, metadata.build(
      model_name="recsys", version=version, domain="recsys",
      signatures=metadata.signatures_from_saved_model(out),
      assets=["item_ids.txt", "candidate_embeddings.npy"], extra={"max_history": HISTORY}))
  return ids
