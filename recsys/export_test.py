"""The export's signature contract, on a small untrained recommender (the contract is about inputs,
not quality, so nothing is trained): raw histories of any length with "" padding anywhere, the
window of `max_history` events the model reads, the errors a caller can cause, the contract
written into metadata.json, and the served rating table `rank` reads for its users. recsys/train_test.py checks a trained export against the model.
"""

import numpy as np
import pytest
import tensorflow as tf

from common import config as config_lib
from common.export import metadata, publish
from recsys import export, features, models
from recsys.configs import default
from recsys.rating import blend, served

MAX_HISTORY = 4
ITEMS = np.array([f"item_{i:03d}" for i in range(30)])
NOW = 1_700_000_000


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
  cfg = default.get_config()
  cfg.model.max_history = MAX_HISTORY
  cfg.model.embedding_dim, cfg.model.hash_bins, cfg.model.user_hash_bins = 8, 64, 16
  model = models.Recommender(config_lib.to_dataclass(cfg.model, models.ModelConfig),
                             known_items=list(ITEMS))
  table = model.item_tower({"item_id": tf.constant(ITEMS)}).numpy()  # also creates its variables
  path = export.export(model, ITEMS, table, export_root=str(tmp_path_factory.mktemp("exports")),
                       model_name="recsys", config=cfg, metrics={}, baseline_metrics={},
                       data_fingerprint="test:0", has_text=False, has_image=False)
  return {"path": path, "loaded": publish.load(path), "model": model, "table": table}


def _raw(histories, width=None, left=False, first_user=0):
  """A batch of raw histories padded with "" to one width (on the right unless `left`)."""
  width = width or max(len(h) for h in histories)
  ids, times = [], []
  for h in histories:
    pad = [""] * (width - len(h))
    row = [i for i, _ in h]
    row_times = [t for _, t in h]
    ids.append(pad + row if left else row + pad)
    times.append([0] * len(pad) + row_times if left else row_times + [0] * len(pad))
  return {"user_id": tf.constant([f"u{first_user + i}" for i in range(len(histories))]),
          "history_ids": tf.constant(ids, tf.string),
          "history_times": tf.constant(times, tf.int64),
          "timestamp": tf.constant([NOW] * len(histories), tf.int64)}


def _history(n, start=0):
  return [(ITEMS[start + i], NOW - 3600 * (n - i)) for i in range(n)]


def test_history_window_keeps_the_last_events_left_padded_as_training_does():
  # Row 0: 5 events with "" between them -> the last 4, oldest first.
  # Row 1: one event on the right of the padding -> "", "", "", "e".
  ids = tf.constant([["a", "b", "", "c", "d", "e"], ["", "", "", "", "", "e"]])
  times = tf.constant([[1, 2, 0, 3, 4, 5], [0, 0, 0, 0, 0, 9]], tf.int64)
  window_ids, window_times = features.history_window(ids, times, MAX_HISTORY)
  assert window_ids.numpy().astype(str).tolist() == [["b", "c", "d", "e"], ["", "", "", "e"]]
  assert window_times.numpy().tolist() == [[2, 3, 4, 5], [0, 0, 0, 9]]
  for row_ids, row_times in ((["a", "b", "c", "d", "e"], [1, 2, 3, 4, 5]), (["e"], [9])):
    want_ids, want_times = features.pad_history(row_ids, row_times, MAX_HISTORY)
    got_ids, got_times = features.history_window(tf.constant([row_ids]), tf.constant([row_times],
                                                                                     tf.int64),
                                                 MAX_HISTORY)
    assert got_ids.numpy()[0].astype(str).tolist() == want_ids.tolist()
    assert got_times.numpy()[0].tolist() == want_times.tolist()


def test_raw_histories_give_the_training_models_query(exported):
  """Any length, any padding side: the served query equals the model's on pad_history's layout."""
  histories = [_history(1), _history(3, 5), _history(4, 10), _history(9, 20)]
  model = exported["model"]
  padded = [features.pad_history([i for i, _ in h], [t for _, t in h], MAX_HISTORY) for h in histories]
  want = model.query_tower({"user_id": tf.constant([f"u{i}" for i in range(len(histories))]),
                            "history_ids": tf.constant(np.stack([p[0] for p in padded]).astype(str)),
                            "history_times": tf.constant(np.stack([p[1] for p in padded])),
                            "timestamp": tf.constant([NOW] * len(histories), tf.int64)}).numpy()
  query = exported["loaded"].signatures["query_embedding"]
  for raw in (_raw(histories), _raw(histories, left=True), _raw(histories, width=12)):
    np.testing.assert_allclose(query(**raw)["embedding"].numpy(), want, rtol=1e-5, atol=1e-6)
  alone = query(**_raw(histories[1:2], first_user=1))["embedding"].numpy()  # a row's answer is its own
  np.testing.assert_allclose(alone[0], want[1], rtol=1e-5, atol=1e-6)


def test_recommend_excludes_exactly_the_window_the_model_read(exported):
  history = _history(7)  # items 0..6; the model reads 3..6
  k = len(ITEMS) - MAX_HISTORY
  out = exported["loaded"].signatures["recommend"](**_raw([history]), k=tf.constant(k, tf.int32))
  returned = set(out["item_ids"].numpy()[0].astype(str))
  assert returned == set(ITEMS) - {i for i, _ in history[-MAX_HISTORY:]}
  ranked = exported["loaded"].signatures["rank"](
      **_raw([history]), candidate_ids=tf.constant([ITEMS[:3]]))["scores"].numpy()
  assert ranked.shape == (1, 3) and np.isfinite(ranked).all()


@pytest.mark.parametrize("change, message", [
    (lambda q: q.update(history_times=q["history_times"][:, 1:]), "same shape as history_ids"),
    (lambda q: q.update(history_ids=tf.constant([["item_000", "no_such_item"]])),
     "not in the model catalogue"),
    (lambda q: q.update(history_ids=tf.constant([["", ""]])), "empty history"),
    (lambda q: q.update(history_ids=tf.zeros([1, 0], tf.string),
                        history_times=tf.zeros([1, 0], tf.int64)), "empty history"),
])
def test_bad_raw_histories_are_rejected_with_a_clear_error(exported, change, message):
  q = _raw([_history(2)])
  change(q)
  with pytest.raises(tf.errors.InvalidArgumentError, match=message):
    exported["loaded"].signatures["recommend"](**q, k=tf.constant(3))


def test_metadata_records_the_signature_contract(exported):
  meta = metadata.read(exported["path"])
  assert meta["extra"]["max_history"] == MAX_HISTORY
  assert set(meta["extra"]["signature_contract"]) >= {"history_ids", "history_times", "timestamp", "k"}
  for name in ("query_embedding", "rank", "recommend"):
    inputs = meta["signatures"][name]["inputs"]
    assert inputs["history_ids"]["shape"] == [-1, -1], name  # any history length
    assert inputs["history_times"]["shape"] == [-1, -1], name


def test_export_workdir_without_a_finished_run_says_how_to_train(tmp_path):
  with pytest.raises(FileNotFoundError, match="train first with `bazel run //recsys:train"):
    export.export_workdir(str(tmp_path), str(tmp_path / "exports"))


# -- the served rating table ------------------------------------------------------------------
MATRIX_USERS = np.array(["u0", "u1", "u2"], dtype=object)


@pytest.fixture(scope="module")
def with_table(exported, tmp_path_factory):
  """The same model exported with a served rating table over 3 users, its columns shuffled
  (the export puts them in catalogue order)."""
  rng = np.random.default_rng(0)
  order = rng.permutation(len(ITEMS))
  ratings = rng.uniform(1, 5, (len(MATRIX_USERS), len(ITEMS))).astype(np.float32)
  table = served.ServedRatings(MATRIX_USERS, ITEMS[order].astype(object), ratings[:, order],
                               blend.Blend(("GLocal-K mean", "biased MF"), np.array([0.7, 0.3]), 0.0),
                               {"blend": 0.9})
  cfg = default.get_config()
  cfg.model.max_history = MAX_HISTORY
  path = export.export(exported["model"], ITEMS, exported["table"],
                       export_root=str(tmp_path_factory.mktemp("exports")), model_name="recsys",
                       config=cfg, metrics={}, baseline_metrics={}, data_fingerprint="test:0",
                       has_text=False, has_image=False, served=table)
  return {"path": path, "loaded": tf.saved_model.load(str(path)), "ratings": ratings}


def _rank(loaded, users, candidates):
  q = _raw([_history(2)] * len(users))
  q["user_id"] = tf.constant(users)
  return loaded.signatures["rank"](**q, candidate_ids=tf.constant(candidates))["scores"].numpy()


def test_rank_serves_the_table_to_its_users_and_the_dcn_head_to_anyone_else(exported, with_table):
  candidates = [list(ITEMS[[5, 0, 29]]), list(ITEMS[[7, 7, 1]])]
  got = _rank(with_table["loaded"], ["u2", "stranger"], candidates)
  np.testing.assert_allclose(got[0], with_table["ratings"][2, [5, 0, 29]], rtol=1e-5)
  # A user outside the matrix gets what the export without a table gives: the DCN head.
  head = _rank(exported["loaded"], ["u2", "stranger"], candidates)
  np.testing.assert_allclose(got[1], head[1], rtol=1e-5)
  assert not np.allclose(got[0], head[0])  # the matrix user's scores did come from the table


def test_recommend_rank_scores_come_from_the_same_table(with_table):
  q = _raw([_history(2)])
  q["user_id"] = tf.constant(["u1"])
  out = with_table["loaded"].signatures["recommend"](**q, k=tf.constant(5))
  rows = [list(ITEMS).index(i) for i in out["item_ids"].numpy()[0].astype(str)]
  np.testing.assert_allclose(out["rank_scores"].numpy()[0], with_table["ratings"][1, rows], rtol=1e-5)


def test_the_table_export_uses_stock_ops_and_says_what_rank_serves(with_table):
  meta = metadata.read(with_table["path"])
  assert meta["custom_op_names"] == [] and meta["custom_ops"] == []  # a stock TF Serving loads it
  rank_model = meta["extra"]["rank_model"]
  assert rank_model["matrix_users"].startswith("3 users of the training rating matrix")
  assert "next training run" in rank_model["matrix_users"] and "DCN" in rank_model["other_users"]
  assert "served rating table" in meta["extra"]["signature_contract"]["user_id"]


def test_a_table_over_another_catalogue_is_refused(exported):
  table = served.ServedRatings(MATRIX_USERS, ITEMS[:-1].astype(object),
                               np.ones((3, len(ITEMS) - 1), np.float32),
                               blend.Blend(("a",), np.array([1.0]), 0.0), {})
  with pytest.raises(ValueError, match="no column for 1 catalogue item"):
    export.RecommenderModule(exported["model"], ITEMS, exported["table"], MAX_HISTORY, False, False,
                             table)
