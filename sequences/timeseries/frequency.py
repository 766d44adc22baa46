"""A series' sampling frequency, read from its timestamps, and what the protocols take from it.

Two things in forecasting depend on how far apart the rows are, and both are counted in rows:

* the ETT protocol's split is 12/4/4 months of 30 days, so its borders are 8,640/11,520/14,400
  rows on hourly data (ETTh), 34,560/46,080/57,600 on 15-minute data (ETTm) and 360/480/600 on
  daily data;
* the seasonal-naive baseline repeats the last season: one day on sub-daily data (24 rows hourly,
  96 at 15 minutes), one week (7 rows) on daily data, the seasons such series are usually
  benchmarked with (a day of load or traffic, a week of sales).

So the frequency is inferred from the data, never assumed: rows must be evenly spaced (a gap or
a repeated time step is an error naming the file's lines), and the step must divide a day or be
a day. Monthly or business-day series have no such step; resample them first.
"""

from __future__ import annotations

import dataclasses

import numpy as np

DAY = np.timedelta64(1, "D")
MONTH_DAYS = 30  # the ETT protocol's month (Informer's `Dataset_ETT_hour`: 30 * 24 rows)


@dataclasses.dataclass(frozen=True)
class Frequency:
  """Evenly spaced rows, `step` apart."""

  step: np.timedelta64

  @property
  def name(self) -> str:
    """`hourly`, `daily` or `<n>min` (`15min` for ETTm): the spelling of `data.frequency`."""
    seconds = int(self.step / np.timedelta64(1, "s"))
    if seconds == 86_400:
      return "daily"
    if seconds == 3_600:
      return "hourly"
    return f"{seconds // 60}min"

  @property
  def step_text(self) -> str:
    return _text(self.step)

  @property
  def season(self) -> int:
    """Rows in one season: a day for sub-daily data, a week for daily data."""
    return 7 if self.step == DAY else int(DAY / self.step)

  @property
  def season_text(self) -> str:
    return "one week" if self.step == DAY else "one day"

  @property
  def rows_per_month(self) -> int:
    """Rows in the ETT protocol's 30-day month: 720 hourly, 2,880 at 15 minutes, 30 daily."""
    return int(MONTH_DAYS * DAY / self.step)


def from_name(name: str) -> Frequency:
  """The inverse of `Frequency.name`: "hourly", "daily" or "<n>min" (e.g. "15min")."""
  if name == "daily":
    return Frequency(DAY)
  if name == "hourly":
    return Frequency(np.timedelta64(1, "h"))
  minutes = name[:-3] if name.endswith("min") else ""
  if not minutes.isdigit() or int(minutes) < 1 or (24 * 60) % int(minutes):
    raise ValueError(f"data.frequency={name!r} is not a frequency; use hourly, daily or <n>min "
                     "with n dividing a day (e.g. 15min), or leave it empty to infer it")
  return Frequency(np.timedelta64(int(minutes), "m"))


def infer(timestamps: np.ndarray, source: str, first_line: int = 2) -> Frequency:
  """The frequency of evenly spaced `timestamps` (row i is on line `first_line + i` of `source`).

  Raises:
    ValueError: naming `source` and the lines, for fewer than two rows, rows that are not evenly
      spaced (a gap or a doubled step: the most common step is taken as the intended one), or a
      step that neither divides a day nor is one (weekly data, sub-minute data).
  """
  timestamps = np.asarray(timestamps).astype("datetime64[s]")
  if len(timestamps) < 2:
    raise ValueError(f"{source}: {len(timestamps)} row(s); a frequency needs at least two")
  steps = np.diff(timestamps)
  values, counts = np.unique(steps, return_counts=True)
  step = values[np.argmax(counts)]
  off = np.nonzero(steps != step)[0]
  if len(off):
    i = int(off[0])
    raise ValueError(
        f"{source}: rows are not evenly spaced: most are {_text(step)} apart, but line "
        f"{first_line + i + 1} ({timestamps[i + 1]}) is {_text(steps[i])} after line "
        f"{first_line + i} ({timestamps[i]}), and {len(off) - 1} more step(s) differ. Fill the "
        "missing time steps (e.g. interpolate) or resample the series to one step")
  seconds = int(step / np.timedelta64(1, "s"))
  if not (seconds == 86_400 or (seconds % 60 == 0 and 86_400 % seconds == 0)):
    raise ValueError(
        f"{source}: rows are {_text(step)} apart (lines {first_line}-{first_line + len(steps)}); "
        "trellis knows the protocols and seasons of steps that divide a day (15 minutes, hourly, "
        "...) and of daily data. Resample the series to one of those")
  return Frequency(step.astype("timedelta64[m]") if seconds < 86_400 else DAY)


def _text(step: np.timedelta64) -> str:
  seconds = int(step / np.timedelta64(1, "s"))
  for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
    if seconds % size == 0:
      n = seconds // size
      return f"{n} {unit}{'s' if n != 1 else ''}"
  return f"{seconds} seconds"
