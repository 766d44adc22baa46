"""Train -> export -> `rank`: the served rating table end to end, on the tiny shop world.

One module-scoped run of the id-only recommender (1 epoch) with `rating_blend` on: one GLocal-K
seed of 8 hidden units and 1 + 1 epochs, biased MF and the biases. What the export's `rank`
returns for a user of the rating matrix must be the table the run fitted (which the blend
protocol itself is checked against in recsys/rating/served_test.py); the run records the
blend's validation figures and the served model's test RMSE; a workdir export carries the table
too. recsys/export_test.py checks the DCN fallback for other users.
"""

import numpy as np
import pytest
import tensorflow as tf

from common.export import metadata
from recsys import export, rating_bench, tiny_run, train
from recsys.data.interactions import Interactions


@pytest.fixture(scope="module")
def run(tmp_path_factory):
  cfg = tiny_run.id_only_config(tmp_path_factory)
  cfg.rating_blend.glocal_k_seeds = 1
  cfg.rating_blend.glocal_k_hidden = 8
  cfg.rating_blend.glocal_k_pretrain_epochs = cfg.rating_blend.glocal_k_finetune_epochs = 1
  workdir = str(tmp_path_factory.mktemp("run"))
  result = train.train_and_evaluate(cfg, workdir)
  path = export.export_run(cfg, result, str(tmp_path_factory.mktemp("exports")), "recsys")
  return workdir, cfg, result, path


def _rank(path, user_id, candidates):
  """One user's rank request as the Recommendation API sends it: stored history, request time."""
  loaded = tf.saved_model.load(str(path))
  return loaded.signatures["rank"](
      user_id=tf.constant([user_id]), history_ids=tf.constant([[candidates[0]]]),
      history_times=tf.constant([[1_000]], tf.int64), timestamp=tf.constant([2_000], tf.int64),
      candidate_ids=tf.constant([candidates]))["scores"].numpy()[0]


def test_rank_returns_the_runs_table_for_its_users(run):
  _, _, result, path = run
  served = result.extras["served_ratings"]
  items = list(result.data.catalog.item_id.astype(str))
  assert served.items.tolist() == items  # columns in catalogue order
  for u in (0, len(served.users) - 1):
    cols = [0, 3, len(items) - 1]
    got = _rank(path, str(served.users[u]), [items[c] for c in cols])
    np.testing.assert_allclose(got, served.predictions[u, cols], rtol=1e-5)


def test_the_run_records_the_blends_validation_and_the_served_test_rmse(run):
  _, _, result, path = run
  figures = result.metrics["validation"]["rating_blend"]
  assert any(n.startswith("GLocal-K seed 0") for n in figures) and "biased MF (dim 64)" in figures
  served = result.metrics["test"]["served"]["rating"]
  assert 0 < served["rmse"] < 2 and served["matrix_share"] > 0.9  # test users trained too
  assert metadata.read(path)["metrics"]["served_rmse"] == pytest.approx(served["rmse"])


def test_a_workdir_export_carries_the_table(run, tmp_path):
  workdir, _, result, _ = run
  path = export.export_workdir(workdir, str(tmp_path / "exports"))
  served = result.extras["served_ratings"]
  items = list(result.data.catalog.item_id.astype(str))
  np.testing.assert_allclose(_rank(path, str(served.users[1]), items[:4]), served.predictions[1, :4],
                             rtol=1e-5)


def test_the_benchs_rank_calls_score_every_rating_with_the_table(run):
  """rating_bench's exported-model row: users' stored histories, batched rank calls."""
  _, cfg, result, _ = run
  t = result.data.test
  test = Interactions(t.user_id.astype(object), t.item_id.astype(object), t.timestamp, t.rating)
  got = rating_bench.rank_through_export(cfg, result, test, users_per_call=7)
  want, known = result.extras["served_ratings"].lookup(test.user_id, test.item_id)
  np.testing.assert_allclose(got[known], want[known], rtol=1e-5)
  assert known.mean() > 0.9
