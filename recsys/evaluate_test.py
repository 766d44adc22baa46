"""Re-evaluating a finished run reproduces the metrics training recorded, and bad input is named.

One module-scoped run: the id-only recommender (no text or image tower) for one epoch on the tiny
shop world, which is all a re-evaluation needs to be compared with.
"""

import pytest

from common import config as config_lib
from recsys import evaluate, tiny_run, train


@pytest.fixture(scope="module")
def run(tmp_path_factory):
  cfg = tiny_run.id_only_config(tmp_path_factory)
  workdir = str(tmp_path_factory.mktemp("run"))
  return workdir, train.train_and_evaluate(cfg, workdir)


@pytest.mark.parametrize("split", ["validation", "test"])
def test_re_evaluation_equals_what_training_recorded(run, split):
  workdir, result = run
  again = evaluate.evaluate_run(workdir, split)
  for name in ("model", "baseline", "most_popular"):
    assert again[name]["overall"] == pytest.approx(result.metrics[split][name]["overall"], rel=1e-5)
    assert again[name]["slices"].keys() == result.metrics[split][name]["slices"].keys()


def test_the_table_puts_the_model_beside_both_baselines(run):
  result = run[1]
  text = evaluate.format_results(result.metrics["test"], k=10)
  header, model, cooc, popular = text.splitlines()[:4]
  assert header.split()[:3] == ["model", "recall@10", "ndcg@10"]
  assert model.startswith("model ") and cooc.startswith("item co-occurrence")
  assert popular.startswith("most popular")
  recall = result.metrics["test"]["baseline"]["overall"]["recall@10"]
  assert f"{recall:.4f}" in cooc
  assert "user activity: hist" in text and "item popularity:" in text


def test_an_unknown_split_is_named(run):
  with pytest.raises(ValueError, match="split 'train' is not one of validation, test"):
    evaluate.evaluate_run(run[0], "train")


def test_a_workdir_without_a_run_says_what_to_point_at(tmp_path):
  with pytest.raises(config_lib.ConfigError, match="Point to the training run's workdir"):
    evaluate.evaluate_run(str(tmp_path))
