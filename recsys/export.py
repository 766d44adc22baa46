"""The recommender as one SavedModel: a user's raw recent item ids in, top-k items out.

    bazel run //recsys:export -- --workdir=/tmp/trellis/recsys --export_root=/tmp/trellis/exports

rebuilds the run's data and model from the config saved in `--workdir`, restores the trained
weights, embeds the catalogue and publishes `<export_root>/<model_name>/<version>` (library:
`export_run` for a run in memory, `export_workdir` for a finished workdir).

Signatures (all stock TensorFlow ops, so a stock TF Serving loads the export). The query inputs
are the raw request, nothing precomputed:

  user_id        [b] string
  history_ids    [b, n] string, any n: each row's recent item ids, oldest first; "" entries are
                 not events (pad the rows of a batch to one width with "", on either side)
  history_times  [b, n] int64 Unix seconds, one per history_ids entry
  timestamp      [b] int64, the request time ("now"; the model reads each event's age from it)

  query_embedding(query inputs)                          -> embedding [b, d]
  candidate_embedding(item_id, text[, image])            -> embedding [b, d]
      raw item content: how a new item, never seen in training, gets placed
  rank(query inputs, candidate_ids [b, c])               -> scores [b, c] (predicted rating)
  recommend(query inputs, k [] int32)                    -> item_ids [b, k], scores [b, k],
                                                            rank_scores [b, k]

The predicted rating (`rank`'s scores, `recommend`'s rank_scores) comes from one of two models.
A run trained with `rating_blend.glocal_k_seeds > 0` carries the served rating table
(`recsys/rating/served.py`: the blend of GLocal-K seeds, biased MF and user + item biases,
materialised at training time for every user of the training rating matrix and every catalogue
item); a request whose `user_id` is one of those users gets the table's rating, read from the
SavedModel's variables. Every other request (a new or anonymous user, or a run without the blend)
gets the multitask model's DCN rating head on the query and candidate embeddings. The table is a
fixed function of the training ratings: new events or ratings change it only at the next training
run and export. `metadata.json`'s `extra.rank_model` says which applies.

Inside the graph, every query signature first keeps the last `max_history` events of each row and
left-pads them as training did (`features.history_window`, the in-graph `pad_history`), then runs
the query tower, which turns the times into ages before `timestamp`. So a server passes the
request through and holds no copy of the feature code: there is no training-serving skew to guard.
`recommend` scores the whole catalogue against the query embedding (exact, brute force:
DESIGN.md rules out ScaNN; the serving layer adds faiss for large catalogues), excludes the
items of that window, and returns the top k with the ranking head's score for each.

The contract is also in `metadata.json` under `extra`: `max_history` (how many recent events the
model reads, which a server needs to know how much history to fetch and which items count as
seen) and `signature_contract` (the text above, input by input). The candidate embedding table and
the item ids are written as assets (`candidate_embeddings.npy`, `item_ids.txt`) for ANN indexes in
the server.

Inputs a caller can get wrong fail with InvalidArgument and a message that says what to fix:
history items missing from the catalogue, a history with no events, history_times of another
shape than history_ids, k outside [1, catalogue size], unknown candidate ids.
"""

from __future__ import annotations

import os
import pathlib
import tempfile

import numpy as np
import tensorflow as tf
from absl import app, flags

from common import config as config_lib
from common.data import data_dir as data_dir_lib
from common.export import publish
from common.training.result import TrainResult
from recsys import features as features_lib
from recsys import models, train
from recsys.rating import served as served_lib

# What the query inputs mean, written into metadata.json (`extra.signature_contract`) so a reader
# of the export (a server, a batch job, a person) has it without this module.
SIGNATURE_CONTRACT = {
    "user_id": "[batch] string; may be empty for an anonymous session",
    "history_ids": "[batch, n] string, any n: each row's recent item ids, oldest first; \"\" "
                   "entries are not events (pad the rows of a batch to one width with \"\"). The "
                   "model reads the last max_history events; recommend excludes them",
    "history_times": "[batch, n] int64 Unix seconds, one per history_ids entry",
    "timestamp": "[batch] int64 request time; the model reads each event's age from it",
    "k": "recommend only: [] int32 in [1, catalogue size]",
    "candidate_ids": "rank only: [batch, c] string catalogue item ids",
}
# `user_id` when the export carries the served rating table.
USER_ID_WITH_TABLE = ("[batch] string; may be empty for an anonymous session. A user of the training "
                      "rating matrix gets rank's scores (and recommend's rank_scores) from the served "
                      "rating table (extra.rank_model); any other user from the DCN rating head")


class RecommenderModule(tf.Module):
  """Holds the trained towers and the catalogue's candidate embeddings."""

  def __init__(self, model: models.Recommender, item_ids: np.ndarray, table: np.ndarray,
               max_history: int, has_text: bool, has_image: bool,
               served: served_lib.ServedRatings | None = None):
    super().__init__()
    self.model = model
    self.max_history = max_history
    self.has_text, self.has_image = has_text, has_image
    self.item_ids = tf.constant(item_ids.astype(str))
    self.table = tf.Variable(table.astype(np.float32), trainable=False, name="candidate_embeddings")
    self.num_items = len(item_ids)
    self.index = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(self.item_ids, tf.range(self.num_items, dtype=tf.int64)),
        default_value=-1)
    self.has_served = served is not None
    if served is not None:
      # The served table's columns put in catalogue order, so a candidate's catalogue row
      # (self.index) is also its column.
      column = {x: i for i, x in enumerate(served.items.astype(str))}
      missing = [x for x in item_ids.astype(str) if x not in column]
      if missing:
        raise ValueError(f"the served rating table has no column for {len(missing)} catalogue "
                         f"item(s) (e.g. {missing[:5]}): it was fitted on another catalogue; "
                         "retrain the run so the table and the model share one")
      ratings = served.predictions[:, [column[x] for x in item_ids.astype(str)]]
      self.served_ratings = tf.Variable(ratings.astype(np.float32), trainable=False,
                                        name="served_ratings")
      users = tf.constant(served.users.astype(str))
      self.served_users = tf.lookup.StaticHashTable(
          tf.lookup.KeyValueTensorInitializer(users, tf.range(len(served.users), dtype=tf.int64)),
          default_value=-1)

  # -- validation ---------------------------------------------------------------------------
  def _check_history(self, history_ids: tf.Tensor, history_times: tf.Tensor) -> list[tf.Operation]:
    """The raw history's problems, each an assertion naming it and the fix."""
    check_shape = tf.debugging.assert_equal(
        tf.shape(history_ids), tf.shape(history_times),
        message="history_times must have the same shape as history_ids (one time per item id)")
    unknown = tf.logical_and(self.index.lookup(history_ids) < 0,
                             tf.not_equal(history_ids, features_lib.PAD))
    check_known = tf.debugging.Assert(
        tf.logical_not(tf.reduce_any(unknown)),
        ["history_ids contains item ids that are not in the model catalogue; remove them "
         "(or re-export with a catalogue that has them):", tf.boolean_mask(history_ids, unknown)],
        summarize=10, name="unknown_history_items")
    empty = tf.reduce_all(tf.equal(history_ids, features_lib.PAD), axis=1)
    check_nonempty = tf.debugging.Assert(
        tf.logical_not(tf.reduce_any(empty)),
        ["empty history: every request needs at least one recent item id (\"\" entries are "
         "padding, not events); rows with none:", tf.where(empty)],
        summarize=10, name="empty_history")
    return [check_shape, check_known, check_nonempty]

  def _query(self, user_id, history_ids, history_times, timestamp):
    """The query embedding and the catalogue rows of the history window the model read."""
    # Nothing downstream may run on a bad request, so the checks gate the window.
    with tf.control_dependencies(self._check_history(history_ids, history_times)):
      ids, times = features_lib.history_window(history_ids, history_times, self.max_history)
    q = self.model.query_tower({"user_id": user_id, "history_ids": ids, "history_times": times,
                                "timestamp": timestamp})
    return q, self.index.lookup(ids)

  def _read_table(self) -> tf.Tensor:
    # One dense read per call, and gathers from that tensor: a gather straight from the variable
    # (ResourceGather) puts it in copy-on-read mode, after which TensorFlow copies the whole
    # candidate table on later reads (measured on the serving bench's synthetic 1M-item export:
    # ~0.5 s per exact recommend instead of ~0.1 s).
    return self.table.read_value()

  def _ratings(self, user_id, q, c, rows):
    """[b, c] predicted ratings of catalogue `rows` [b, c] (candidate embeddings `c` [b, c, d]):
    the served table's for users in it, the DCN head's for everyone else."""
    qb = tf.broadcast_to(q[:, None, :], tf.shape(c))
    d = tf.shape(q)[-1]
    head = tf.reshape(self.model.predict_rating(tf.reshape(qb, [-1, d]), tf.reshape(c, [-1, d])),
                      tf.shape(rows))
    if not self.has_served:
      return head
    user = self.served_users.lookup(user_id)  # [b], -1 outside the matrix
    at = tf.stack([tf.broadcast_to(tf.maximum(user, 0)[:, None], tf.shape(rows)),
                   tf.cast(rows, tf.int64)], axis=-1)
    table = tf.gather_nd(self.served_ratings.read_value(), at)
    return tf.where((user >= 0)[:, None], table, tf.cast(head, table.dtype))

  # -- signatures ---------------------------------------------------------------------------
  def query_embedding(self, user_id, history_ids, history_times, timestamp):
    q, _ = self._query(user_id, history_ids, history_times, timestamp)
    return {"embedding": q}

  def candidate_embedding(self, item_id, text=None, image=None):
    inputs = {"item_id": item_id}
    if self.has_text:
      inputs["text"] = text
    if self.has_image:
      inputs["image"] = image
    return {"embedding": self.model.item_tower(inputs, training=False)}

  def rank(self, user_id, history_ids, history_times, timestamp, candidate_ids):
    q, _ = self._query(user_id, history_ids, history_times, timestamp)
    rows = self.index.lookup(candidate_ids)
    check = tf.debugging.Assert(tf.reduce_all(rows >= 0), [
        "candidate_ids contains ids that are not in the catalogue:",
        tf.boolean_mask(candidate_ids, rows < 0)], summarize=10, name="unknown_candidates")
    with tf.control_dependencies([check]):
      rows = tf.identity(rows)
    c = tf.gather(self._read_table(), rows)  # [b, c, d]
    return {"scores": self._ratings(user_id, q, c, rows)}

  def recommend(self, user_id, history_ids, history_times, timestamp, k):
    check_k = tf.debugging.Assert(tf.logical_and(k >= 1, k <= self.num_items), [
        f"k must be between 1 and the catalogue size ({self.num_items}); got", k], name="bad_k")
    with tf.control_dependencies([check_k]):
      k = tf.identity(k)
    q, rows = self._query(user_id, history_ids, history_times, timestamp)
    table = self._read_table()
    scores = tf.matmul(q, table, transpose_b=True)  # [b, num_items]
    b = tf.shape(q)[0]
    seen_idx = tf.where(rows >= 0)  # [m, 2] (batch row, position)
    seen = tf.stack([seen_idx[:, 0], tf.gather_nd(rows, seen_idx)], axis=1)
    mask = tf.scatter_nd(seen, tf.ones(tf.shape(seen)[0:1], tf.bool),
                         tf.cast(tf.stack([b, self.num_items]), tf.int64))
    scores = tf.where(mask, tf.fill(tf.shape(scores), -np.inf), scores)
    top = tf.math.top_k(scores, k=k)
    item_ids = tf.gather(self.item_ids, top.indices)
    c = tf.gather(table, top.indices)
    rank_scores = self._ratings(user_id, q, c, top.indices)
    return {"item_ids": item_ids, "scores": top.values, "rank_scores": rank_scores}


_QUERY_SPEC = dict(
    user_id=tf.TensorSpec([None], tf.string, name="user_id"),
    history_ids=tf.TensorSpec([None, None], tf.string, name="history_ids"),
    history_times=tf.TensorSpec([None, None], tf.int64, name="history_times"),
    timestamp=tf.TensorSpec([None], tf.int64, name="timestamp"))


def signatures(module: RecommenderModule) -> dict:
  cand = {"item_id": tf.TensorSpec([None], tf.string, name="item_id")}
  if module.has_text:
    cand["text"] = tf.TensorSpec([None], tf.string, name="text")
  if module.has_image:
    cand["image"] = tf.TensorSpec([None], tf.string, name="image")
  return {
      "query_embedding": tf.function(module.query_embedding).get_concrete_function(**_QUERY_SPEC),
      "candidate_embedding": tf.function(module.candidate_embedding).get_concrete_function(**cand),
      "rank": tf.function(module.rank).get_concrete_function(
          **_QUERY_SPEC, candidate_ids=tf.TensorSpec([None, None], tf.string, name="candidate_ids")),
      "recommend": tf.function(module.recommend).get_concrete_function(
          **_QUERY_SPEC, k=tf.TensorSpec([], tf.int32, name="k")),
  }


def export(model: models.Recommender, item_ids: np.ndarray, table: np.ndarray, *, export_root: str,
           model_name: str, config, metrics: dict, baseline_metrics: dict, data_fingerprint: str,
           has_text: bool, has_image: bool,
           served: served_lib.ServedRatings | None = None) -> pathlib.Path | str:
  """Publishes the recommender under `<export_root>/<model_name>/<version>` atomically.

  With `served` (a run's served rating table), `rank` answers the table's users from it.
  """
  max_history = int(config.model.max_history)
  module = RecommenderModule(model, item_ids, table, max_history, has_text, has_image, served)
  contract, rank_model = dict(SIGNATURE_CONTRACT), _rank_model(served)
  if served is not None:
    contract["user_id"] = USER_ID_WITH_TABLE
  with tempfile.TemporaryDirectory() as tmp:
    ids_path = pathlib.Path(tmp) / "item_ids.txt"  # local: a temporary file, copied into the export
    ids_path.write_text("\n".join(item_ids.astype(str)) + "\n")  # local: the temporary file
    emb_path = pathlib.Path(tmp) / "candidate_embeddings.npy"  # local: a temporary file
    np.save(emb_path, table.astype(np.float32))
    return publish.export_saved_model(
        module, signatures=signatures(module), export_root=export_root, model_name=model_name,
        domain="recsys", config=config, metrics=metrics, baseline_metrics=baseline_metrics,
        data_fingerprint=data_fingerprint,
        assets={"item_ids.txt": str(ids_path), "candidate_embeddings.npy": str(emb_path)},
        extra_metadata={"max_history": max_history, "signature_contract": contract,
                        "rank_model": rank_model},
        warmup_requests=_warmup_requests(item_ids))


def _rank_model(served: served_lib.ServedRatings | None) -> dict:
  """What `rank` returns, for metadata.json's `extra.rank_model`."""
  head = "the multitask model's DCN rating head on the query and candidate embeddings"
  if served is None:
    return {"all_users": head}
  names = ", ".join(f"{w:+.3f} x {n}" for n, w in zip(served.blend.names, served.blend.weights,
                                                       strict=True))
  return {"matrix_users": f"{len(served.users)} users of the training rating matrix: the served "
                          f"rating table, {names}, {served.blend.intercept:+.3f} (clipped to [1, 5]; "
                          "weights fitted on held-out training ratings), fixed at training time: "
                          "new ratings change it only at the next training run and export",
          "other_users": head,
          "validation_rmse": served.validation_rmse}


def _warmup_requests(item_ids: np.ndarray) -> dict:
  """A one-item history per query signature, so the server traces the towers before traffic."""
  query = {"user_id": np.array([b"warm-up"], object),
           "history_ids": np.array([[str(item_ids[0]).encode()]], object),
           "history_times": np.array([[1]], np.int64), "timestamp": np.array([2], np.int64)}
  return {"query_embedding": query,
          "rank": query | {"candidate_ids": np.array([[str(item_ids[0]).encode()]], object)},
          "recommend": query | {"k": np.array(1, np.int32)}}


def export_run(cfg, run: TrainResult, export_root: str, model_name: str) -> pathlib.Path | str:
  """Publishes the model of a `train.train_and_evaluate` (or `train.restore`) result."""
  model, data, results = run.model, run.data, run.metrics["test"]
  table = train.candidate_table(model, data)
  metrics = results.get("model", {}).get("overall", {}) | {
      k: v for k, v in results.get("model", {}).get("rating", {}).items()}
  metrics |= {f"served_{k}": v for k, v in results.get("served", {}).get("rating", {}).items()}
  baseline = results.get("baseline", {}).get("overall", {})  # item co-occurrence
  return export(
      model, data.catalog.item_id, table, export_root=export_root, model_name=model_name,
      config=cfg, metrics=metrics, baseline_metrics=baseline, data_fingerprint=run.data_fingerprint,
      has_text=model.item_tower.text_encoder is not None,
      has_image=model.item_tower.image_encoder is not None,
      served=run.extras.get("served_ratings"))


def export_workdir(workdir: str, export_root: str, model_name: str = "recsys",
                   data_dir: str | None = None, world_dir: str | None = None) -> pathlib.Path | str:
  """Publishes a finished `//recsys:train` run from its workdir (config, data, final weights)."""
  weights = os.path.join(workdir, train.FINAL_WEIGHTS)  # may be gs://: tf.io.gfile, never pathlib
  if not tf.io.gfile.exists(weights + ".index"):
    raise FileNotFoundError(f"{weights} does not exist: train first with "
                            f"`bazel run //recsys:train -- --workdir={workdir}`")
  cfg = config_lib.read_saved(workdir)
  if world_dir:  # the shop world moved since training; restore checks it is the same data
    cfg.data.path = world_dir
  return export_run(cfg, train.restore(cfg, workdir, data_dir), export_root, model_name)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}")
  try:
    path = export_workdir(flags.FLAGS.workdir, flags.FLAGS.export_root, flags.FLAGS.model_name,
                          flags.FLAGS.data_dir, flags.FLAGS.world_dir)
  except (FileNotFoundError, ValueError) as e:  # no finished run there, or other data than it saw
    raise app.UsageError(str(e)) from None
  print(f"exported {path}")


if __name__ == "__main__":
  # Flags exist only in this program, so importing the module never clashes with another --workdir.
  flags.DEFINE_string("workdir", None, "a finished `//recsys:train` workdir", required=True)
  flags.DEFINE_string("export_root", None, "TF Serving model root to publish into", required=True)
  flags.DEFINE_string("model_name", "recsys", "model name under --export_root")
  flags.DEFINE_string("world_dir", None, "the shop world folder, if it moved since training "
                      "(data.source=shopworld; default: data.path in the run's config)")
  data_dir_lib.define_flag()  # the real datasets (data.source=movielens)
  app.run(main)
