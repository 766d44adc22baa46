"""End to end on a tiny shop world: train, evaluate beside baselines, export, and check the export.

One module-scoped run (a few epochs on 300 items) is shared by the checks below.
"""

import shutil

import numpy as np
import pytest
import tensorflow as tf

from common.export import metadata, publish
from common.shopworld import world as shopworld
from common.training import result as result_lib
from recsys import export, train
from recsys.configs import default


@pytest.fixture(scope="module")
def run(tmp_path_factory):
  world_dir = tmp_path_factory.mktemp("world")
  shopworld.generate(seed=0, size="tiny").write(world_dir, overwrite=True)
  cfg = default.get_config()
  cfg.epochs = 8
  cfg.batch_size = 64
  cfg.train_image_encoder = False  # random frozen image features: the image path runs, cheaply
  cfg.model.max_history = 8
  cfg.early_stopping_patience = 3
  cfg.data.path = str(world_dir)
  workdir = str(tmp_path_factory.mktemp("work"))
  result = train.train_and_evaluate(cfg, workdir)
  export_dir = export.export_run(cfg, result, str(tmp_path_factory.mktemp("exports")), "recsys")
  return {"result": result, "model": result.model, "data": result.data, "cfg": cfg,
          "workdir": workdir, "export_dir": export_dir, "loaded": publish.load(export_dir)}


def _query(data, rows):
  ex = data.test
  return dict(user_id=tf.constant(ex.user_id[rows].astype(str)),
              history_ids=tf.constant(ex.history_ids[rows].astype(str)),
              history_times=tf.constant(ex.history_times[rows]),
              timestamp=tf.constant(ex.timestamp[rows]))


def test_results_report_model_beside_baselines_on_validation_and_test(run):
  result = run["result"]
  assert isinstance(result, result_lib.TrainResult)
  for split, examples in (("validation", run["data"].validation), ("test", run["data"].test)):
    for name in ("model", "baseline", "most_popular"):
      assert 0.0 <= result.metrics[split][name]["overall"]["recall@10"] <= 1.0
      assert result.metrics[split][name]["slices"], (split, name)
    assert result.metrics[split]["model"]["overall"]["n"] == len(examples)
  assert 1 <= result.epochs <= run["cfg"].epochs and result.train_seconds > 0
  assert result.data_fingerprint == run["data"].fingerprint
  assert result.data_fingerprint.startswith("shopworld:")


def test_the_workdir_holds_the_result_and_restores_the_run(run):
  summary = result_lib.read_summary(run["workdir"])
  assert summary["data_fingerprint"] == run["result"].data_fingerprint
  assert summary["metrics"]["test"]["model"]["overall"]["recall@10"] == pytest.approx(
      run["result"].metrics["test"]["model"]["overall"]["recall@10"])
  restored = train.restore(run["cfg"], run["workdir"])
  rows = np.arange(4)
  q = _query(run["data"], rows)
  np.testing.assert_allclose(restored.model.query_tower(q, training=False).numpy(),
                             run["model"].query_tower(q, training=False).numpy(), rtol=1e-5, atol=1e-6)
  assert restored.metrics == summary["metrics"] and restored.epochs == run["result"].epochs


def test_restoring_on_other_data_names_the_mismatch(run, tmp_path):
  world = tmp_path / "world"
  shutil.copytree(run["cfg"].data.path, world)
  lines = (world / "interactions.csv").read_text().splitlines()
  (world / "interactions.csv").write_text("\n".join(lines[:-1]) + "\n")  # one event fewer
  cfg = run["cfg"].copy_and_resolve_references()
  cfg.data.path = str(world)
  with pytest.raises(ValueError, match=r"trained on data shopworld:.* now reads as shopworld:"):
    train.restore(cfg, run["workdir"])


def test_exported_recommend_equals_in_process_retrieval_and_ranking(run):
  model, data, loaded = run["model"], run["data"], run["loaded"]
  rows = np.arange(min(16, len(data.test)))
  q = _query(data, rows)
  out = loaded.signatures["recommend"](**q, k=tf.constant(5))
  # In process: query tower against the candidate table, history excluded, top 5.
  table = train.candidate_table(model, data)
  query = model.query_tower(q, training=False).numpy()
  scores = query @ table.T
  index = data.catalog.index()
  for r, hist in enumerate(data.test.history_ids[rows]):
    scores[r, [index[i] for i in hist if i]] = -np.inf
  top = np.argsort(-scores, axis=1, kind="stable")[:, :5]
  np.testing.assert_array_equal(out["item_ids"].numpy().astype(str), data.catalog.item_id[top].astype(str))
  np.testing.assert_allclose(out["scores"].numpy(), np.take_along_axis(scores, top, 1), rtol=1e-4, atol=1e-5)
  expected_rank = model.predict_rating(tf.repeat(query, 5, axis=0), tf.constant(table[top.ravel()]))
  np.testing.assert_allclose(out["rank_scores"].numpy().ravel(), expected_rank.numpy(), rtol=1e-4, atol=1e-4)
  for r, hist in enumerate(data.test.history_ids[rows]):
    assert not set(out["item_ids"].numpy()[r].astype(str)) & set(hist)


def test_exported_rank_scores_the_given_candidates(run):
  data, loaded = run["data"], run["loaded"]
  q = _query(data, np.arange(2))
  cands = tf.constant(np.tile(data.catalog.item_id[:3].astype(str), (2, 1)))
  out = loaded.signatures["rank"](**q, candidate_ids=cands)["scores"].numpy()
  assert out.shape == (2, 3) and np.all((out >= 1.0) & (out <= 5.0))


@pytest.mark.parametrize("change, message", [
    (lambda q: q.update(history_ids=tf.where(tf.equal(q["history_ids"], ""), "", "no_such_item")),
     "not in the model catalogue"),
    (lambda q: q.update(history_ids=tf.fill(tf.shape(q["history_ids"]), "")), "empty history"),
])
def test_bad_histories_are_rejected_with_a_clear_error(run, change, message):
  q = _query(run["data"], np.arange(2))
  change(q)
  with pytest.raises(tf.errors.InvalidArgumentError, match=message):
    run["loaded"].signatures["recommend"](**q, k=tf.constant(3))


@pytest.mark.parametrize("k", [0, -1, 10_000])
def test_k_outside_the_catalogue_is_rejected(run, k):
  with pytest.raises(tf.errors.InvalidArgumentError, match="k must be between 1 and the catalogue size"):
    run["loaded"].signatures["recommend"](**_query(run["data"], np.arange(1)), k=tf.constant(k))


def test_unknown_candidates_are_rejected(run):
  q = _query(run["data"], np.arange(1))
  with pytest.raises(tf.errors.InvalidArgumentError, match="not in the catalogue"):
    run["loaded"].signatures["rank"](**q, candidate_ids=tf.constant([["no_such_item"]]))


def test_raw_history_without_padding_gets_the_padded_answer(run):
  """The export takes the raw history (export.py's contract): its padding is the export's job."""
  q = _query(run["data"], np.arange(2))
  padded = run["loaded"].signatures["recommend"](**q, k=tf.constant(5))["item_ids"].numpy()
  for r in range(2):
    real = q["history_ids"].numpy()[r].astype(str) != ""
    raw = dict(user_id=q["user_id"][r:r + 1], timestamp=q["timestamp"][r:r + 1],
               history_ids=tf.constant(q["history_ids"].numpy()[r][real][None]),
               history_times=tf.constant(q["history_times"].numpy()[r][real][None]))
    out = run["loaded"].signatures["recommend"](**raw, k=tf.constant(5))["item_ids"].numpy()
    np.testing.assert_array_equal(out[0], padded[r])
  q["history_times"] = q["history_times"][:, 1:]
  with pytest.raises(tf.errors.InvalidArgumentError, match="same shape as history_ids"):
    run["loaded"].signatures["recommend"](**q, k=tf.constant(3))


def test_export_uses_only_stock_tensorflow_ops(run):
  assert metadata.read(run["export_dir"])["custom_ops"] == []


def test_model_beats_the_popularity_baseline(run):
  test = run["result"].metrics["test"]
  assert test["model"]["overall"]["recall@10"] > test["most_popular"]["overall"]["recall@10"], test


def test_cold_item_gets_neighbours_of_its_category_from_content_alone(run):
  """An item presented under a new id (no id view) lands among items of its own category."""
  data, loaded = run["data"], run["loaded"]
  catalog = data.catalog
  table = np.load(run["export_dir"] / "assets" / "candidate_embeddings.npy")
  rows = np.arange(0, len(catalog), max(1, len(catalog) // 30))[:30]
  images = [data.images[i] for i in catalog.item_id[rows]]
  emb = loaded.signatures["candidate_embedding"](
      item_id=tf.constant([f"new-{i}" for i in catalog.item_id[rows]]),
      text=tf.constant(catalog.text[rows].astype(str)), image=tf.constant(images))["embedding"].numpy()
  scores = emb @ table.T
  scores[np.arange(len(rows)), rows] = -np.inf  # not itself
  neighbours = np.argsort(-scores, axis=1)[:, :10]
  same = (catalog.category[neighbours] == catalog.category[rows][:, None]).mean()
  chance = max(np.mean(catalog.category == c) for c in set(catalog.category))
  # Measured here: 0.25 of the 10 neighbours share the category, against 0.15 for the largest
  # category (chance) -- with a random, frozen image encoder; `make demo` uses the trained one.
  assert same > 1.5 * chance, (same, chance)
