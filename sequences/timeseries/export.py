"""The `forecast` SavedModel: raw window [batch, L, channels] -> forecast [batch, H, channels].

Clients send raw values in the series' own units; the graph z-scores them with the training
statistics, runs the forecaster (which also normalises each window, RevIN) and maps the forecast
back to raw units. Wrong shapes, NaNs and infinities fail inside the graph with a message naming
the problem, so TF Serving and batch prediction report the same error as a local call.

    bazel run //sequences/timeseries:train -- --workdir=/tmp/ts
    bazel run //sequences/timeseries:export -- --workdir=/tmp/ts --export_root=/tmp/exports

The metadata records the run's test metrics beside the baseline's and the data fingerprint, as
`train.train_and_evaluate` wrote them to the workdir's result.json.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np
import tensorflow as tf
from absl import app, flags

from common.export import publish
from common.training import result as result_lib
from sequences.timeseries import models, train, windowing

SIGNATURE = "forecast"
DOMAIN = "sequences"


class ForecastModule(tf.Module):
  """Holds a trained forecaster and the training statistics; `forecast` is the served function."""

  def __init__(self, model: models.Forecaster, scaler: windowing.Scaler,
               columns: tuple[str, ...]):
    super().__init__(name="forecaster")
    self.model = model
    self.lookback = model.config.lookback
    self.horizon = model.config.horizon
    self.channels = model.config.channels
    self.columns = tuple(columns)
    self.mean = tf.Variable(scaler.mean.reshape(1, 1, -1), trainable=False, name="train_mean")
    self.std = tf.Variable(scaler.std.reshape(1, 1, -1), trainable=False, name="train_std")

  # The spec leaves every dimension open so that a wrong window reaches the asserts below and gets
  # a message naming L and the columns, not a bare signature mismatch.
  @tf.function(input_signature=[tf.TensorSpec([None, None, None], tf.float32, name="window")])
  def forecast(self, window):
    """window: raw values [batch, L, channels] -> {"forecast": [batch, H, channels]} raw units."""
    expected = f"[batch, {self.lookback}, {self.channels}] (columns {', '.join(self.columns)})"
    checks = [
        tf.debugging.assert_equal(
            tf.shape(window)[1], self.lookback,
            message=f"window has the wrong length: expected {expected}; send the last "
                    f"{self.lookback} rows, oldest first. Got shape"),
        tf.debugging.assert_equal(
            tf.shape(window)[2], self.channels,
            message=f"window has the wrong number of channels: expected {expected}. Got shape"),
        tf.debugging.assert_positive(
            tf.shape(window)[0], message="window batch is empty: send at least one window"),
    ]
    with tf.control_dependencies(checks):
      window = tf.debugging.assert_all_finite(
          window, message="window contains NaN or infinity: impute missing values (e.g. carry "
                          "the last observation forward) before asking for a forecast")
    z = (window - self.mean) / self.std
    z = tf.ensure_shape(z, [None, self.lookback, self.channels])
    y = self.model(z, training=False)
    return {"forecast": y * self.std + self.mean}


def export(module: ForecastModule, export_root: str | pathlib.Path, config, *,
           metrics: dict, baseline_metrics: dict, data_fingerprint: str) -> pathlib.Path | str:
  """Publishes `module` as `<export_root>/<config.export.model_name>/<version>/`.

  Returns a `pathlib.Path` for a local root, the URL for a gs:// (any non-local) root.
  """
  return publish.export_saved_model(
      module,
      signatures={SIGNATURE: module.forecast.get_concrete_function()},
      export_root=str(export_root),
      model_name=config.export.model_name,
      domain=DOMAIN,
      config=config,
      metrics=metrics,
      baseline_metrics=baseline_metrics,
      data_fingerprint=data_fingerprint,
      # A window at the training mean, the right shape: the server traces the graph before
      # traffic (a synthetic [1, 1, 1] window would be refused by the checks above).
      warmup_requests={SIGNATURE: {"window": np.tile(module.mean.numpy(),
                                                     (1, module.lookback, 1)).astype(np.float32)}},
      default_signature=SIGNATURE)  # serving_default = forecast: clients need not name it


def export_result(result: result_lib.TrainResult, export_root) -> pathlib.Path | str:
  """Exports a finished `train.train_and_evaluate` run with its test metrics.

  The metadata records the config the run resolved (the data's frequency and season).
  """
  module = ForecastModule(result.model, result.data.scaler, result.data.series.columns)
  test = result.metrics["test"]
  return export(module, export_root, result.config, metrics=test["model"],
                baseline_metrics=test["baseline"], data_fingerprint=result.data_fingerprint)


def export_from_workdir(workdir: str | os.PathLike, export_root) -> pathlib.Path | str:
  """Rebuilds the model a finished training run left in `workdir` and exports it.

  `workdir` and `export_root` may be any location TensorFlow's file systems know (gs://, ram://).

  Raises:
    FileNotFoundError: `workdir` holds no finished run (no result.json / scaler.json); the
      message says to train there first.
  """
  workdir = os.fspath(workdir)
  summary = result_lib.read_summary(workdir)
  config, model, scaler, columns = train.load_trained(workdir)
  test = summary["metrics"]["test"]
  return export(ForecastModule(model, scaler, columns), export_root, config,
                metrics=test["model"], baseline_metrics=test["baseline"],
                data_fingerprint=summary["data_fingerprint"])


def raw_forecast(module_or_loaded, window: np.ndarray) -> np.ndarray:
  """Calls the `forecast` function of a ForecastModule or a loaded SavedModel on a raw window."""
  fn = getattr(module_or_loaded, "signatures", {}).get(SIGNATURE) or module_or_loaded.forecast
  return fn(window=tf.constant(window, tf.float32))["forecast"].numpy()


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}; pass --workdir and --export_root")
  print("exported to", export_from_workdir(flags.FLAGS.workdir, flags.FLAGS.export_root))


if __name__ == "__main__":
  # Flags are defined by the binary only: the library is imported beside other binaries' flags.
  flags.DEFINE_string("workdir", None, "A finished training run's workdir.", required=True)
  flags.DEFINE_string("export_root", None, "Where to publish (TF Serving layout).", required=True)
  app.run(main)
