"""`evaluate.evaluate_run` re-scores a finished run with the figures training recorded."""

import json

import numpy as np
import pytest

from sequences.timeseries import evaluate, train
from sequences.timeseries.configs import default


@pytest.fixture(scope="module")
def run(tmp_path_factory):
  """A seasonal-naive "run" (no training: fast) on 400 hourly rows of a daily cycle."""
  directory = tmp_path_factory.mktemp("evaluate")
  t = np.arange(400)
  stamps = np.datetime64("2020-01-01T00") + t * np.timedelta64(1, "h")
  values = np.sin(2 * np.pi * t / 24) + 0.01 * t
  (directory / "series.csv").write_text("timestamp,x\n" + "".join(
      f"{s},{v!r}\n" for s, v in zip(stamps, values.tolist(), strict=True)))
  config = default.get_config()
  config.model, config.baseline = "SeasonalNaive", "LastValue"
  config.data.source, config.data.path, config.data.split = "csv", str(directory / "series.csv"), "fraction"
  config.lookback, config.horizon, config.verbose = 48, 12, 0
  result = train.train_and_evaluate(config, str(directory / "run"))
  return str(directory / "run"), result


def test_evaluate_run_reproduces_the_recorded_test_and_validation_figures(run):
  workdir, result = run
  for split in ("test", "validation"):
    again = evaluate.evaluate_run(workdir, split=split)
    assert again["model"] == pytest.approx(result.metrics[split]["model"])
    assert again["baseline"] == pytest.approx(result.metrics[split]["baseline"])
    assert (again["model_name"], again["baseline_name"]) == ("SeasonalNaive", "LastValue")
  # The result.json training wrote holds the same figures.
  with open(f"{workdir}/result.json") as f:
    assert json.load(f)["metrics"]["test"]["model"] == pytest.approx(result.metrics["test"]["model"])


def test_bad_split_and_unfinished_workdir_say_what_to_do(run, tmp_path):
  workdir, _ = run
  with pytest.raises(ValueError, match="unknown split 'train'; choose one of validation, test"):
    evaluate.evaluate_run(workdir, split="train")
  with pytest.raises(Exception, match=r"config\.json does not exist"):
    evaluate.evaluate_run(str(tmp_path))
