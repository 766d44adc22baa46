"""A generic `timestamp,col1,col2,...` CSV (local or gs://): `data.source=csv`.

The ETT files and the shop world's demand are the same on-disk shape (a header naming a timestamp
column and the value columns, then one row per time step in time order), so their modules read
through `parse` and `load` here and add their own names and checks.
"""

from __future__ import annotations

import math
import os

import numpy as np
import tensorflow as tf

from common.data import csv_reader
from sequences.timeseries.data.series import Series


def parse(rows: list[list[str]], source: str, name: str | None = None,
          dataset: str = "csv") -> Series:
  """Builds a Series from CSV rows (header first).

  Raises:
    ValueError: naming `source`, the line and the column, for a non-number, NaN/inf, an unparseable
      or out-of-order timestamp, a header without value columns, or a file without data rows.
  """
  if not rows:
    raise ValueError(f"{source} is empty; expected a header `timestamp,col1,col2,...` and rows")
  header, body = rows[0], rows[1:]
  if len(header) < 2:
    raise ValueError(f"{source}: header {header!r} has no value columns; expected "
                     "`timestamp,col1,col2,...`")
  if not body:
    raise ValueError(f"{source} has a header but no data rows")
  values = np.empty((len(body), len(header) - 1), np.float32)
  stamps = []
  for i, row in enumerate(body):
    line = i + 2  # 1-based, after the header
    if len(row) != len(header):
      raise ValueError(f"{source}:{line}: {len(row)} fields, the header has {len(header)}")
    try:
      stamps.append(np.datetime64(row[0].strip().replace(" ", "T")))
    except ValueError as e:
      raise ValueError(f"{source}:{line}: timestamp {row[0]!r} is not an ISO date/time "
                       "(e.g. 2016-07-01 00:00:00)") from e
    for j, cell in enumerate(row[1:]):
      try:
        v = float(cell)
      except ValueError as e:
        raise ValueError(f"{source}:{line}: column {header[j + 1]!r} holds {cell!r}, not a "
                         "number; fill or drop missing values before training") from e
      if not math.isfinite(v):
        raise ValueError(f"{source}:{line}: column {header[j + 1]!r} is {cell}; forecasters need "
                         "finite values, so impute or drop that row first")
      values[i, j] = v
  timestamps = np.array(stamps)
  bad = np.nonzero(np.diff(timestamps) <= np.timedelta64(0))[0]
  if len(bad):
    line = int(bad[0]) + 3
    raise ValueError(f"{source}:{line}: timestamp {body[bad[0] + 1][0]!r} is not after the previous "
                     f"row's {body[bad[0]][0]!r}; rows must be in strictly increasing time order")
  return Series(name=name or stem(source), timestamps=timestamps,
                columns=tuple(h.strip() for h in header[1:]), values=values, source=source,
                dataset=dataset)


def stem(path: str) -> str:
  """The file name without directory and extension: a series' default name."""
  return os.path.splitext(os.path.basename(path))[0]


def load(path: str | os.PathLike, name: str | None = None, dataset: str = "csv") -> Series:
  """A generic `timestamp,col1,col2,...` CSV with a header row (local or gs://, via tf.io.gfile)."""
  path = os.fspath(path)
  if not tf.io.gfile.exists(path) or tf.io.gfile.isdir(path):
    raise FileNotFoundError(f"series file {path} does not exist; pass the path of a CSV with a "
                            "header `timestamp,col1,col2,...`")
  with tf.io.gfile.GFile(path, "r") as f:
    num_fields = len(f.readline().split(","))
  return parse(csv_reader.read_rows(path, num_fields, header=False), path, name, dataset)
