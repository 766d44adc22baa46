"""A forecast drawn against the actuals: one window's history, truth and each model's forecast.

`train.train_and_evaluate` draws one test window of the last channel to `<workdir>/forecast.png`,
so a run's numbers come with a picture of what they mean.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers, CI or TPU VMs

import matplotlib.pyplot as plt  # after the backend is chosen
import numpy as np


def forecast(path, history: np.ndarray, truth: np.ndarray, forecasts: dict[str, np.ndarray],
             channel: int, title: str) -> None:
  """Draws one window's history, actuals and forecasts of one channel as a PNG.

  `path` is a local path or an open binary file (a `tf.io.gfile.GFile` for gs:// workdirs).
  """
  lookback = len(history)
  fig, ax = plt.subplots(figsize=(9, 3.2))
  ax.plot(np.arange(lookback), history[:, channel], color="0.4", lw=1, label="history")
  future = np.arange(lookback, lookback + len(truth))
  ax.plot(future, truth[:, channel], color="black", lw=1.5, label="actual")
  for name, f in forecasts.items():
    ax.plot(future, f[:, channel], lw=1.2, label=name)
  ax.set_title(title)
  ax.set_xlabel("step")
  ax.legend(loc="upper left", fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)
