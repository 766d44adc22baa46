"""End to end on the shop world: the model beats seasonal-naive, the export equals the model on raw
input and rejects bad windows with clear errors."""

import json
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from common.shopworld import world as shopworld
from sequences.timeseries import demo, export, input_pipeline, train
from sequences.timeseries.configs import demand


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
