"""End to end on the shop world: the model beats seasonal-naive, the export equals the model on raw
input and rejects bad windows with clear errors; an ensemble trains, shares members, reloads and
exports."""

import json
import pathlib

import ml_collections
import numpy as np
import pytest
import tensorflow as tf

from common.shopworld import world as shopworld
from sequences.timeseries import demo, export, input_pipeline, train
from sequences.timeseries.configs import default, demand


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory):
  return shopworld.generate(seed=0, size="tiny").write(tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
  return tmp_path_factory.mktemp("demo")


@pytest.fixture(scope="module")
def summary(world_dir, demo_dir):
  return demo.run(demo_dir, world_dir, epochs=8)


@pytest.fixture(scope="module")
def loaded(summary):
  return tf.saved_model.load(summary["export_dir"])


def test_model_beats_seasonal_naive_on_shop_world_demand(summary):
  assert summary["beats_baseline"], summary
  # Daily counts with negative-binomial noise: copying last week copies its noise too, a fitted
  # trend + weekly profile averages it away. Demand a clear margin, not a tie.
  assert summary["mse_ratio_vs_baseline"] < 0.9, summary
  assert summary["test_mae_units"] < summary["baseline_test_mae_units"]


def test_export_equals_in_process_model_on_raw_values(summary, loaded, world_dir, demo_dir):
  config = demand.get_config()
  config.data.path = str(world_dir)
  data = input_pipeline.prepare(config)
  history, _ = input_pipeline.arrays(data, "test")
  raw = data.scaler.inverse(history[:16])
  served = export.raw_forecast(loaded, raw)
  # In process: standardise, run the trained model, map back (what the graph must do).
  _, model, scaler, _ = train.load_trained(demo_dir / "train")
  expected = scaler.inverse(model(scaler.transform(raw)).numpy())
  assert served.shape == (16, config.horizon, data.channels)
  np.testing.assert_allclose(served, expected, rtol=1e-4, atol=1e-3)
  meta = json.loads(
      (pathlib.Path(summary["export_dir"]) / "assets.extra" / "metadata.json").read_text())
  assert meta["metrics"]["mse"] < meta["baseline_metrics"]["mse"]


@pytest.mark.parametrize("shape,message", [
    ((2, 27, 10), "wrong length"),
    ((2, 28, 9), "wrong number of channels"),
    ((0, 28, 10), "batch is empty"),
])
def test_export_rejects_wrong_window_shapes(loaded, shape, message):
  with pytest.raises(tf.errors.InvalidArgumentError, match=message):
    export.raw_forecast(loaded, np.ones(shape, np.float32))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_export_rejects_nan_and_infinity(loaded, bad):
  window = np.full((1, 28, 10), 50.0, np.float32)
  window[0, 5, 3] = bad
  with pytest.raises(tf.errors.InvalidArgumentError, match="NaN or infinity"):
    export.raw_forecast(loaded, window)


def test_missing_demand_file_says_how_to_make_it(tmp_path):
  config = demand.get_config()
  config.data.path = str(tmp_path)
  with pytest.raises(FileNotFoundError, match="write a shop world first"):
    input_pipeline.prepare(config)


@pytest.fixture(scope="module")
def toy_csv(tmp_path_factory):
  """600 hourly rows of two noisy seasonal channels, as a `timestamp,a,b` CSV."""
  t = np.arange(600, dtype=np.float32)
  values = np.stack([np.sin(2 * np.pi * t / 24), np.cos(2 * np.pi * t / 12) + 0.01 * t], axis=1)
  values += np.random.default_rng(0).normal(0, 0.1, values.shape).astype(np.float32)
  stamps = np.datetime64("2020-01-01T00") + np.arange(600) * np.timedelta64(1, "h")
  path = tmp_path_factory.mktemp("toy") / "toy.csv"
  path.write_text("timestamp,a,b\n" + "".join(
      f"{stamp},{a!r},{b!r}\n" for stamp, (a, b) in zip(stamps, values.tolist(), strict=True)))
  return str(path)


def _toy_config(members, toy_csv, member_root):
  config = default.get_config()
  config.model = "Ensemble"
  config.lookback = 48
  config.ensemble.members = ml_collections.ConfigDict(members)
  config.ensemble.member_root = str(member_root)
  config.verbose = 0
  config.data.source = "csv"
  config.data.path = toy_csv
  config.data.split = "fraction"
  config.horizon = 12
  config.epochs = 1
  config.arch.kernel_size = 5
  return config


def test_ensemble_trains_members_once_averages_them_and_exports(toy_csv, tmp_path):
  config = _toy_config({"a": {"model": "Linear", "lookback": 24}, "b": {"model": "DLinear"}},
                       toy_csv, tmp_path / "members")
  result = train.train_and_evaluate(config, str(tmp_path / "a"))
  history, _ = input_pipeline.arrays(result.data, "test")
  members = result.model.members
  assert [m.config.lookback for m in members] == [24, 48]
  expected = np.mean([members[0](history[:, -24:]), members[1](history)], 0)
  np.testing.assert_allclose(result.model(history), expected, rtol=1e-5, atol=1e-5)
  assert np.isfinite(result.metrics["test"]["model"]["mse"])
  assert np.isfinite(result.metrics["validation"]["model"]["mse"])
  assert result.epochs == sum(json.loads((d / "result.json").read_text())["epochs"]
                              for d in (tmp_path / "members").iterdir())
  assert result.data_fingerprint == result.data.series.fingerprint
  assert result.data_fingerprint.startswith("csv:")

  # A second ensemble sharing a member trains only the new one.
  before = {d.name for d in (tmp_path / "members").iterdir()}
  other = train.train_and_evaluate(
      _toy_config({"a": {"model": "Linear", "lookback": 24}, "b": {"model": "Linear", "seed": 2}},
                  toy_csv, tmp_path / "members"), str(tmp_path / "b"))
  assert len({d.name for d in (tmp_path / "members").iterdir()} - before) == 1
  np.testing.assert_allclose(other.model.members[0](history[:, -24:]), members[0](history[:, -24:]))

  # A finished run is recognised by its config (and only that config) and reloaded with its figures.
  again = train.finished_result(config, tmp_path / "a")
  assert again.metrics == json.loads(json.dumps(result.metrics)) and again.epochs == result.epochs
  np.testing.assert_allclose(again.model(history), result.model(history), rtol=1e-5, atol=1e-5)
  config.verbose = 2  # how a run is watched is not what it trained
  assert train.finished_result(config, tmp_path / "a") is not None
  config.seed = 7
  assert train.finished_result(config, tmp_path / "a") is None

  # The workdir reloads the whole ensemble, and the export serves it on raw windows.
  _, loaded, scaler, columns = train.load_trained(tmp_path / "a")
  np.testing.assert_allclose(loaded(history), result.model(history), rtol=1e-5, atol=1e-5)
  module = export.ForecastModule(loaded, scaler, columns)
  tf.saved_model.save(module, str(tmp_path / "saved"),
                      signatures={export.SIGNATURE: module.forecast.get_concrete_function()})
  served = export.raw_forecast(tf.saved_model.load(str(tmp_path / "saved")),
                               scaler.inverse(history[:8]))
  np.testing.assert_allclose(served, scaler.inverse(result.model(history[:8]).numpy()),
                             rtol=1e-4, atol=1e-4)
