"""Forecast metrics beside the baseline, per horizon step and per channel, and their report table.

The ETT protocol's figures are MSE and MAE over every (test window, step, channel) of the
standardised test set, i.e. averaged over channels. An average over 96 steps hides that error grows
with lead time, so `evaluate` also reports per-step and per-channel slices (DESIGN.md idea 6).

`train.train_and_evaluate` scores every run with these; `evaluate.py` re-scores a finished run.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from common.metrics import regression


def predict(model: tf.keras.Model, history: np.ndarray, batch_size: int = 512) -> np.ndarray:
  """Forecasts for all windows in `history` [n, L, C] -> [n, H, C] (numpy)."""
  return np.concatenate([model(history[i:i + batch_size], training=False).numpy()
                         for i in range(0, len(history), batch_size)])


def errors(truth: np.ndarray, forecast: np.ndarray) -> dict[str, float]:
  """MSE and MAE over every element (windows × steps × channels)."""
  return {"mse": regression.mse(truth, forecast), "mae": regression.mae(truth, forecast)}


def step_slices(truth: np.ndarray, forecast: np.ndarray,
                steps: tuple[int, ...] | None = None) -> dict[int, float]:
  """MSE at lead times (1-based step -> MSE over windows and channels).

  Default steps: the first, a quarter, half and the last step of the horizon.
  """
  horizon = truth.shape[1]
  steps = steps or sorted({1, max(1, horizon // 4), max(1, horizon // 2), horizon})
  return {s: regression.mse(truth[:, s - 1], forecast[:, s - 1]) for s in steps if s <= horizon}


def channel_slices(truth: np.ndarray, forecast: np.ndarray,
                   columns: tuple[str, ...]) -> dict[str, float]:
  """MSE per channel (column name -> MSE over windows and steps)."""
  return {name: regression.mse(truth[..., c], forecast[..., c]) for c, name in enumerate(columns)}


def evaluate(model: tf.keras.Model, baseline: tf.keras.Model, history: np.ndarray,
             truth: np.ndarray, columns: tuple[str, ...]) -> dict:
  """The model's and the baseline's errors on standardised windows, with slices."""
  forecast = predict(model, history)
  base = predict(baseline, history)
  return {
      "model": errors(truth, forecast),
      "baseline": errors(truth, base),
      "model_mse_by_step": step_slices(truth, forecast),
      "baseline_mse_by_step": step_slices(truth, base),
      "model_mse_by_channel": channel_slices(truth, forecast, columns),
      "baseline_mse_by_channel": channel_slices(truth, base, columns),
      "windows": len(history),
  }


def format_report(name: str, baseline_name: str, result: dict) -> str:
  """A short table: overall, per-step and per-channel MSE of model vs baseline."""
  m, b = result["model"], result["baseline"]
  lines = [f"{'':>16} {name:>12} {baseline_name:>14} {'ratio':>7}",
           f"{'MSE':>16} {m['mse']:>12.4f} {b['mse']:>14.4f} {m['mse'] / b['mse']:>7.3f}",
           f"{'MAE':>16} {m['mae']:>12.4f} {b['mae']:>14.4f} {m['mae'] / b['mae']:>7.3f}"]
  for step, v in result["model_mse_by_step"].items():
    bv = result["baseline_mse_by_step"][step]
    lines.append(f"{'MSE step ' + str(step):>16} {v:>12.4f} {bv:>14.4f} {v / bv:>7.3f}")
  for col, v in result["model_mse_by_channel"].items():
    bv = result["baseline_mse_by_channel"][col]
    lines.append(f"{'MSE ' + col[:12]:>16} {v:>12.4f} {bv:>14.4f} {v / max(bv, 1e-12):>7.3f}")
  lines.append(f"({result['windows']} windows, standardised units)")
  return "\n".join(lines)
