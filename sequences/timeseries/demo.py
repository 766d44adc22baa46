"""The demo forecaster: daily demand per category of the shop world, trained and exported in seconds.

    from sequences.timeseries import demo
    summary = demo.run("/tmp/trellis/timeseries", "/tmp/trellis/world")

Trains `configs/demand.py` (DLinear, 4 weeks -> 2 weeks) on `<world_dir>/demand.csv`, compares it
with seasonal-naive (same weekday last week) on the last 20 % of days, exports the raw-input
`forecast` model and checks that the export reproduces the in-process forecast.
"""

from __future__ import annotations

import os

from common.metrics import regression
from sequences.timeseries import export, input_pipeline, train
from sequences.timeseries.configs import demand


def run(workdir: str | os.PathLike, world_dir: str | os.PathLike, *,
        export_root: str | os.PathLike | None = None, verbose: int = 0, **overrides) -> dict:
  """Trains, evaluates and exports the demand forecaster; returns a summary dict.

  Args:
    workdir: where the run's files go (`<workdir>/train`, and exports under `<workdir>/exports`
      unless `export_root` is given).
    world_dir: a written shop world (holds demand.csv).
    export_root: where to publish the model (TF Serving layout).
    verbose: Keras verbosity (config.verbose; > 0 also prints the test report).
    **overrides: top-level config fields to change (e.g. epochs=5 in tests).
  """
  workdir = os.fspath(workdir)
  config = demand.get_config()
  config.data.path = str(world_dir)
  config.verbose = verbose
  for key, value in overrides.items():
    setattr(config, key, value)
  result = train.train_and_evaluate(config, os.path.join(workdir, "train"))
  export_dir = export.export_result(result, export_root or os.path.join(workdir, "exports"))

  # The export takes raw units: check it on the raw test windows against the in-process model.
  history, truth = input_pipeline.arrays(result.data, "test")
  scaler = result.data.scaler
  module = export.ForecastModule(result.model, scaler, result.data.series.columns)
  raw_history = scaler.inverse(history)
  forecast_units = export.raw_forecast(module, raw_history)
  baseline_units = scaler.inverse(result.baseline(history).numpy())
  truth_units = scaler.inverse(truth)
  test, base = result.metrics["test"]["model"], result.metrics["test"]["baseline"]
  return {
      "model": config.model,
      "baseline": config.baseline,
      "series": f"{len(result.data.series)} days × {result.data.channels} categories",
      "lookback_days": config.lookback,
      "horizon_days": config.horizon,
      "test_windows": len(history),
      "test_mse": round(test["mse"], 4),
      "baseline_test_mse": round(base["mse"], 4),
      "mse_ratio_vs_baseline": round(test["mse"] / base["mse"], 3),
      "test_mae_units": round(regression.mae(truth_units, forecast_units), 2),
      "baseline_test_mae_units": round(regression.mae(truth_units, baseline_units), 2),
      "beats_baseline": test["mse"] < base["mse"],
      "train_seconds": round(result.train_seconds, 1),
      "epochs": result.epochs,
      "export_dir": str(export_dir),
  }
