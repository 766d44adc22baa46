"""From a config to batched tf.data windows: load the series, split by time, scale, window.

    prepared = input_pipeline.prepare(config, data_dir)
    train_ds = input_pipeline.make_dataset(prepared, "train", config.batch_size, training=True)

The model is trained on z-scored values (statistics of the training rows only, as the ETT protocol
prescribes); the export puts the same scaling inside the graph, so clients send raw values.
"""

from __future__ import annotations

import dataclasses
import pathlib

import ml_collections
import numpy as np
import tensorflow as tf

from common.data import pipeline
from sequences.timeseries import data as data_lib
from sequences.timeseries import frequency as frequency_lib
from sequences.timeseries import windowing
from sequences.timeseries.data import ett


@dataclasses.dataclass(frozen=True)
class Data:
  """A series prepared for one (lookback, horizon): splits, train statistics and scaled values."""

  series: data_lib.Series
  borders: windowing.Borders
  scaler: windowing.Scaler
  scaled: np.ndarray  # [T, C] z-scored with the training statistics
  lookback: int
  horizon: int
  stride: int

  @property
  def channels(self) -> int:
    return self.scaled.shape[1]

  def num_windows(self, split: str) -> int:
    stride = self.stride if split == "train" else 1
    return windowing.num_windows(self.borders, split, self.lookback, self.horizon, stride)


def frequency_of(data_config, series: data_lib.Series) -> frequency_lib.Frequency | None:
  """The series' frequency, checked against the one its protocol names; None if nothing needs it.

  It is needed by the ETT split (months in rows), by `data.frequency` (the frequency the user
  says the data has) and by an ETT file's name (ETTh is hourly, ETTm 15-minute).

  Raises:
    ValueError: the data's frequency is not the named one (naming both and the fix), or the
      timestamps are irregular or of an unknown step (see `frequency.infer`).
  """
  named = data_config.frequency or ett.FREQUENCY.get(series.name, "")
  if data_config.split != "ett" and not named:
    return None
  where = series.source or f"series {series.name!r}"
  freq = frequency_lib.infer(series.timestamps, where)
  if named and frequency_lib.from_name(named) != freq:
    because = (f"data.frequency={data_config.frequency}" if data_config.frequency
               else f"{series.name} names an ETT file of {named} data")
    raise ValueError(
        f"{where} holds {freq.name} data (rows {freq.step_text} apart), "
        f"but {because}: its protocol would put the split borders and the season in the wrong "
        f"rows. Set --config.data.frequency={freq.name} (or leave it empty to use the data's), "
        "or pass the file the protocol is for")
  return freq


def resolve(config, series: data_lib.Series):
  """A copy of `config` with what the data decides filled in: `data.frequency` (when the split or
  a name needs it) and `arch.season=0` -> one season of the data's frequency (a day on
  sub-daily data, a week on daily data). The resolved config is the one a run saves.

  Raises:
    ValueError: as `frequency_of`, or `arch.season=0` on data of no known frequency.
  """
  resolved = ml_collections.ConfigDict(config.to_dict())
  resolved.lock()
  freq = frequency_of(config.data, series)
  if freq is None and config.arch.season == 0:
    freq = frequency_lib.infer(series.timestamps, series.source or f"series {series.name!r}")
  if freq is not None:
    resolved.data.frequency = freq.name
    if config.arch.season == 0:
      resolved.arch.season = freq.season
  return resolved


def ett_borders(config, series: data_lib.Series) -> windowing.Borders:
  """The ETT protocol's 12/4/4 months, counted in rows of the series' frequency."""
  freq = frequency_of(config.data, series)
  return windowing.ett_borders(len(series), config.lookback, freq.rows_per_month,
                               source=f"{series.name} ({freq.name})")


def prepare(config, data_dir: str | pathlib.Path | None = None,
            series: data_lib.Series | None = None) -> Data:
  """Loads (unless `series` is given), splits by time and fits the scaler on the training rows.

  The ETT split's borders come from the data's frequency (`frequency_of`), which must match
  `data.frequency` when that is set.
  """
  series = series if series is not None else data_lib.load(config.data, data_dir)
  if config.data.split == "ett":
    borders = ett_borders(config, series)
  elif config.data.split == "fraction":
    frequency_of(config.data, series)  # a named frequency is checked on every split
    borders = windowing.fraction_borders(len(series), config.lookback, config.horizon)
  else:
    raise ValueError(f"unknown data.split {config.data.split!r}; choose ett or fraction")
  scaler = windowing.Scaler.fit(series.values, borders)
  return Data(series=series, borders=borders, scaler=scaler,
              scaled=scaler.transform(series.values), lookback=config.lookback,
              horizon=config.horizon, stride=config.data.stride)


def make_dataset(data: Data, split: str, batch_size: int, *, training: bool, seed: int = 0,
                 input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
  """Batches of (history [B, L, C], future [B, H, C]) in standardised units.

  Training windows use `data.stride` and are shuffled; evaluation uses every window (stride 1)
  in time order, as the protocol does. Windows are cheap slices of the series held in memory,
  so they are not cached (an ETTh1 epoch of cached windows would be ~100 MB of overlapping copies).
  """
  stride = data.stride if split == "train" else 1
  ds = windowing.dataset(data.scaled, data.borders, split, data.lookback, data.horizon, stride)
  return pipeline.build(ds, batch_size, training=training,
                        shuffle_buffer=data.num_windows(split), cache=False,
                        input_context=input_context, seed=seed)


def arrays(data: Data, split: str) -> tuple[np.ndarray, np.ndarray]:
  """All windows of `split` as standardised numpy arrays (history [n, L, C], future [n, H, C])."""
  starts = windowing.window_starts(data.borders, split, data.lookback, data.horizon)
  return windowing.windows(data.scaled, starts, data.lookback, data.horizon)
