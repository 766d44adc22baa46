"""Series loaders: the four ETT CSVs (checksum-verified), generic `timestamp,col1,...` CSV, shop-world demand.

All three are the same on-disk shape: a header naming a timestamp column and the value columns,
then one row per time step in time order. Paths may be gs:// (read through `tf.io.gfile`). A
loader returns a `Series`; windowing and scaling happen later (`windowing`, `input_pipeline`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os

import numpy as np
import tensorflow as tf

from common.data import csv_reader, datasets
from common.data import data_dir as data_dir_lib

# The four ETT-small files, checksummed in the dataset registry (common/data/datasets.py) and the
# frequency each one's protocol assumes: ETTh is hourly, ETTm is sampled every 15 minutes.
ETT_FREQUENCY = {"ETTh1": "hourly", "ETTh2": "hourly", "ETTm1": "15min", "ETTm2": "15min"}
ETT_COLUMNS = ("HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT")


@dataclasses.dataclass(frozen=True)
class Series:
  """A multivariate series: `values[t, c]` is column `columns[c]` at `timestamps[t]`."""

  name: str
  timestamps: np.ndarray  # [T] numpy datetime64
  columns: tuple[str, ...]
  values: np.ndarray  # [T, C] float32
  source: str = ""  # the file it was read from (row i is on its line i + 2); "" if built in memory

  def __len__(self) -> int:
    return len(self.values)

  @property
  def fingerprint(self) -> str:
    """A short hash of the values and names: recorded in export metadata as the data fingerprint."""
    h = hashlib.sha256()
    h.update(",".join(self.columns).encode())
    h.update(np.ascontiguousarray(self.values).tobytes())
    return h.hexdigest()[:16]


def parse(rows: list[list[str]], source: str, name: str | None = None) -> Series:
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
  return Series(name=name or _stem(source), timestamps=timestamps,
                columns=tuple(h.strip() for h in header[1:]), values=values, source=source)


def _stem(path: str) -> str:
  return os.path.splitext(os.path.basename(path))[0]


def load_csv(path: str | os.PathLike, name: str | None = None) -> Series:
  """A generic `timestamp,col1,col2,...` CSV with a header row (local or gs://, via tf.io.gfile)."""
  path = os.fspath(path)
  if not tf.io.gfile.exists(path) or tf.io.gfile.isdir(path):
    raise FileNotFoundError(f"series file {path} does not exist; pass the path of a CSV with a "
                            "header `timestamp,col1,col2,...`")
  with tf.io.gfile.GFile(path, "r") as f:
    num_fields = len(f.readline().split(","))
  return parse(csv_reader.read_rows(path, num_fields, header=False), path, name)


def load_ett(data_dir: str | os.PathLike | None, name: str = "ETTh1") -> Series:
  """ETTh1/ETTh2/ETTm1/ETTm2 from `<data_dir>/ett/<name>.csv` after checking its sha256.

  Args:
    data_dir: the datasets root (`--data_dir`; None = env TRELLIS_DATA_DIR or ../shared/data).
    name: one of `ETT_FREQUENCY`.

  Raises:
    ValueError: an unknown name. data_dir.DataNotFoundError: the file is missing (the message
      says where to place it and how to fetch it). download.ChecksumError: another version.
  """
  if name not in ETT_FREQUENCY:
    raise ValueError(f"unknown ETT file {name!r}; choose one of {sorted(ETT_FREQUENCY)} (or pass "
                     "the path of an ETT-format CSV)")
  root = data_dir_lib.resolve(None if data_dir is None else str(data_dir))
  path = datasets.require(root, "ett", f"{name}.csv")
  return _ett_columns(load_csv(path, name))


def load_ett_format(path: str | os.PathLike) -> Series:
  """An ETT-format CSV (`date,HUFL,...,OT`, any number of value columns) at `path`.

  The series is named after the file; a file whose bytes are one of the four ETT files' (by
  sha256) is named after that file, so the published figures for it apply.
  """
  path = os.fspath(path)
  series = load_csv(path)
  file_name = os.path.basename(path)
  known = datasets.get("ett").files.get(file_name)
  if _stem(path) in ETT_FREQUENCY and known == _sha256(path):
    return _ett_columns(dataclasses.replace(series, name=_stem(path)))
  return dataclasses.replace(series, name=file_name)


def _sha256(path: str) -> str:
  digest = hashlib.sha256()
  with tf.io.gfile.GFile(path, "rb") as f:
    while chunk := f.read(1 << 20):
      digest.update(chunk)
  return digest.hexdigest()


def _ett_columns(series: Series) -> Series:
  if series.columns != ETT_COLUMNS:
    raise ValueError(f"{series.source}: columns {series.columns} are not ETT's {ETT_COLUMNS}")
  return series


def load_demand(world_dir: str | os.PathLike) -> Series:
  """The shop world's daily demand: `<world_dir>/demand.csv` (date,<one column per category>)."""
  path = os.path.join(os.fspath(world_dir), "demand.csv")
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f"{path} does not exist; write a shop world first "
                            "(common.shopworld.world.generate(seed=0).write(world_dir))")
  return load_csv(path, "shopworld_demand")
