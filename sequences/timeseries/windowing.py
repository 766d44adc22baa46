"""Sliding windows over a multivariate series, time-ordered splits and train-only scaling.

A forecasting example is a pair (history, future): `lookback` rows ending at time t and the
`horizon` rows after it. Everything here works on row indices so that the two ways future values
can leak into training are easy to see and to test:

* a split is a contiguous range of *target* rows; the training range ends before the validation
  range starts, so no training target lies in the validation/test period. A validation/test split
  starts `lookback` rows early so its first window has a full history (its inputs overlap the end of
  the previous split, which is past data and fine; its targets never do);
* scaling statistics are computed from the training rows only.

The ETT split (`ett_borders`) is the one of Informer, Autoformer, DLinear and PatchTST
(`Dataset_ETT_hour`/`Dataset_ETT_minute` in their `data_loader.py`): 12/4/4 months of 30 days,
counted in rows of the data's frequency (`frequency.py`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

SPLITS = ("train", "validation", "test")


@dataclasses.dataclass(frozen=True)
class Borders:
  """Row ranges [start, end) of each split, *including* the history prefix of val/test.

  `target_start[s]` is the first row whose value may be a target of split `s`; rows in
  [start, target_start) are history only.
  """

  start: dict[str, int]
  end: dict[str, int]
  target_start: dict[str, int]

  def rows(self, split: str) -> tuple[int, int]:
    _check_split(split)
    return self.start[split], self.end[split]


def _check_split(split: str) -> None:
  if split not in SPLITS:
    raise ValueError(f"unknown split {split!r}; use one of {SPLITS}")


def ett_borders(num_rows: int, lookback: int, rows_per_month: int = 30 * 24,
                source: str = "the series") -> Borders:
  """The standard ETT split: train 12 months, validation 4, test 4 (by time), months of 30 days.

  For ETTh (hourly, 720 rows a month) this is train rows [0, 8640), validation
  [8640 - L, 11520), test [11520 - L, 14400); for ETTm (15-minute, 2,880 rows a month) train
  [0, 34560), validation [34560 - L, 46080), test [46080 - L, 57600) (`Dataset_ETT_minute`).
  The remaining rows are unused, as in the papers.

  Args:
    num_rows: rows in the series (17,420 for ETTh1/ETTh2, 69,680 for ETTm1/ETTm2).
    lookback: L, the history length of a window.
    rows_per_month: 720 for hourly ETTh, 2880 for 15-minute ETTm (`frequency.rows_per_month`).
    source: names the series in the error.
  """
  train_end = 12 * rows_per_month
  val_end = train_end + 4 * rows_per_month
  test_end = val_end + 4 * rows_per_month
  if num_rows < test_end:
    raise ValueError(
        f"the ETT protocol needs {test_end} rows (20 months of {rows_per_month}); {source} has "
        f"{num_rows}. Pass the full file, or use --config.data.split=fraction (70/10/20 %)")
  return _borders(train_end, val_end, test_end, lookback)


def fraction_borders(num_rows: int, lookback: int, horizon: int,
                     fractions: tuple[float, float, float] = (0.7, 0.1, 0.2)) -> Borders:
  """A time-ordered train/validation/test split by fractions of the rows (Autoformer's 7:1:2).

  Used for series without a fixed protocol (generic CSV, the shop world's demand).

  Raises:
    ValueError: if a split is too short to hold one window; the message gives the minimum length.
  """
  if len(fractions) != 3 or any(f <= 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
    raise ValueError(f"fractions must be three positive numbers summing to 1, got {fractions}")
  train_end = int(num_rows * fractions[0])
  val_end = train_end + int(num_rows * fractions[1])
  borders = _borders(train_end, val_end, num_rows, lookback)
  for split in SPLITS:
    n = num_windows(borders, split, lookback, horizon)
    if n < 1:
      need = int(np.ceil((lookback + horizon) / min(fractions)))
      raise ValueError(
          f"the {split} split of a {num_rows}-row series has no complete window of lookback "
          f"{lookback} + horizon {horizon}; use a series of at least ~{need} rows or a shorter "
          "lookback/horizon")
  return borders


def _borders(train_end: int, val_end: int, test_end: int, lookback: int) -> Borders:
  if lookback < 1 or lookback > train_end:
    raise ValueError(f"lookback must be in [1, {train_end}] (the training rows), got {lookback}")
  return Borders(
      start={"train": 0, "validation": train_end - lookback, "test": val_end - lookback},
      end={"train": train_end, "validation": val_end, "test": test_end},
      target_start={"train": lookback, "validation": train_end, "test": val_end},
  )


def window_starts(borders: Borders, split: str, lookback: int, horizon: int,
                  stride: int = 1) -> np.ndarray:
  """First rows of the windows of `split`: window i covers rows [s_i, s_i + L + H)."""
  if horizon < 1 or stride < 1:
    raise ValueError(f"horizon and stride must be >= 1, got horizon={horizon}, stride={stride}")
  start, end = borders.rows(split)
  return np.arange(start, end - lookback - horizon + 1, stride, dtype=np.int64)


def num_windows(borders: Borders, split: str, lookback: int, horizon: int, stride: int = 1) -> int:
  return len(window_starts(borders, split, lookback, horizon, stride))


@dataclasses.dataclass(frozen=True)
class Scaler:
  """Per-channel z-score statistics fitted on the training rows only."""

  mean: np.ndarray  # [channels]
  std: np.ndarray  # [channels]

  @classmethod
  def fit(cls, values: np.ndarray, borders: Borders) -> Scaler:
    start, end = borders.rows("train")
    train = np.asarray(values[start:end], np.float64)
    std = train.std(axis=0)
    # A constant channel (e.g. a category never sold in training) would divide by zero.
    std = np.where(std < 1e-8, 1.0, std)
    return cls(mean=train.mean(axis=0).astype(np.float32), std=std.astype(np.float32))

  def transform(self, values: np.ndarray) -> np.ndarray:
    return ((values - self.mean) / self.std).astype(np.float32)

  def inverse(self, values: np.ndarray) -> np.ndarray:
    return (values * self.std + self.mean).astype(np.float32)


def windows(values: np.ndarray, starts: np.ndarray, lookback: int,
            horizon: int) -> tuple[np.ndarray, np.ndarray]:
  """Gathers (history [n, L, C], future [n, H, C]) arrays for the given window starts.

  Uses a strided view, so the history windows of ETTh1 (8k × 336 × 7) cost one copy.
  """
  values = np.asarray(values, np.float32)
  view = np.lib.stride_tricks.sliding_window_view(values, lookback + horizon, axis=0)
  # view: [rows - L - H + 1, C, L + H] -> [n, L + H, C]
  w = np.moveaxis(view[starts], -1, 1)
  return np.ascontiguousarray(w[:, :lookback]), np.ascontiguousarray(w[:, lookback:])


def dataset(values: np.ndarray, borders: Borders, split: str, lookback: int, horizon: int,
            stride: int = 1) -> tf.data.Dataset:
  """tf.data of (history [L, C], future [H, C]) for one split, windows in time order.

  The series is held once in memory and windows are sliced on the fly (an ETT split of 8k windows
  would otherwise be ~90 MB of overlapping copies).
  """
  starts = window_starts(borders, split, lookback, horizon, stride)
  if len(starts) == 0:
    raise ValueError(
        f"the {split} split has no complete window of lookback {lookback} + horizon {horizon}; "
        "use a longer series or a shorter lookback/horizon")
  series = tf.constant(np.asarray(values, np.float32))

  def slice_window(start):
    w = series[start:start + lookback + horizon]
    return w[:lookback], w[lookback:]

  return tf.data.Dataset.from_tensor_slices(starts).map(
      slice_window, num_parallel_calls=tf.data.AUTOTUNE)
