"""Forecast metrics and slices, worked by hand; the report table and the forecast plot."""

import numpy as np
import pytest

from sequences.timeseries import metrics, plot


def test_errors_and_slices_by_hand():
  truth = np.zeros((2, 3, 2))
  forecast = np.zeros((2, 3, 2))
  forecast[:, 0, 0] = 2.0  # step 1, channel a: error 2 in both windows
  forecast[0, 2, 1] = -1.0  # step 3, channel b: error 1 in one window
  # Overall: squared errors 4 + 4 + 1 = 9 over 12 elements; absolute 2 + 2 + 1 = 5 over 12.
  assert metrics.errors(truth, forecast) == pytest.approx({"mse": 0.75, "mae": 5 / 12})
  # Step 1: (4 + 4) / 4; step 3: 1 / 4; steps beyond the horizon are left out.
  assert metrics.step_slices(truth, forecast, steps=(1, 3, 96)) == {1: 2.0, 3: 0.25}
  assert list(metrics.step_slices(truth, forecast)) == [1, 3]  # first, quarter/half (1), last
  # Channel a: 8 / 6; channel b: 1 / 6.
  assert metrics.channel_slices(truth, forecast, ("a", "b")) == pytest.approx(
      {"a": 8 / 6, "b": 1 / 6})


def test_report_puts_model_beside_baseline(tmp_path):
  result = {"model": {"mse": 0.5, "mae": 0.4}, "baseline": {"mse": 1.0, "mae": 0.8},
            "model_mse_by_step": {1: 0.1}, "baseline_mse_by_step": {1: 0.2},
            "model_mse_by_channel": {"OT": 0.3}, "baseline_mse_by_channel": {"OT": 0.6},
            "windows": 7}
  text = metrics.format_report("Linear", "SeasonalNaive", result)
  assert "0.500" in text and "MSE step 1" in text and "MSE OT" in text and "7 windows" in text
  plot.forecast(tmp_path / "f.png", np.zeros((8, 2)), np.ones((4, 2)),
                         {"Linear": np.ones((4, 2))}, channel=1, title="t")
  assert (tmp_path / "f.png").stat().st_size > 1000


def test_shape_mismatch_is_an_error():
  with pytest.raises(ValueError, match="shape"):
    metrics.errors(np.zeros((2, 3, 1)), np.zeros((2, 4, 1)))
