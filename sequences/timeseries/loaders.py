"""Series loaders: ETT CSV (checksum-verified), generic `timestamp,col1,...` CSV, shop-world demand.

All three are the same on-disk shape: a header naming a timestamp column and the value columns,
then one row per time step in time order. A loader returns a `Series`; windowing and scaling
happen later (`windowing`, `input_pipeline`).
"""

from __future__ import annotations

import dataclasses
import math
import pathlib

import numpy as np

from common.data import csv_reader, download
from common.data import data_dir as data_dir_lib

# sha256 of the unmodified files of zhouhaoyi/ETDataset @ 1d16c8f (see ../shared/data/ett/PROVENANCE.md).
ETT_SHA256 = {
    "ETTh1": "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066",
    "ETTh2": "a3dc2c597b9218c7ce1cd55eb77b283fd459a1d09d753063f944967dd6b9218b",
}
ETT_COLUMNS = ("HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT")


@dataclasses.dataclass(frozen=True)
class Series:
  """A multivariate series: `values[t, c]` is column `columns[c]` at `timestamps[t]`."""

  name: str
  timestamps: np.ndarray  # [T] numpy datetime64
  columns: tuple[str, ...]
  values: np.ndarray  # [T, C] float32

  def __len__(self) -> int:
    return len(self.values)

  @property
  def fingerprint(self) -> str:
    """A short hash of the values and names: recorded in export metadata as the data fingerprint."""
    import hashlib

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
  return Series(name=name or pathlib.Path(source).stem, timestamps=timestamps,
                columns=tuple(h.strip() for h in header[1:]), values=values)


def load_csv(path: str | pathlib.Path, name: str | None = None) -> Series:
  """A generic `timestamp,col1,col2,...` CSV with a header row."""
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"series file {path} does not exist; pass the path of a CSV with a "
                            "header `timestamp,col1,col2,...`")
  with open(path, newline="") as f:
    num_fields = len(f.readline().split(","))
  return parse(csv_reader.read_rows(path, num_fields, header=False), str(path), name)


def load_ett(data_dir: str | pathlib.Path | None, name: str = "ETTh1") -> Series:
  """ETTh1/ETTh2 from `<data_dir>/ett/<name>.csv` after checking its sha256.

  Args:
    data_dir: the datasets root (`--data_dir`; None = env TRELLIS_DATA_DIR or ../shared/data).
    name: "ETTh1" or "ETTh2".
  """
  if name not in ETT_SHA256:
    raise ValueError(f"unknown ETT file {name!r}; choose one of {sorted(ETT_SHA256)}")
  root = data_dir_lib.resolve(None if data_dir is None else str(data_dir))
  path = data_dir_lib.require(
      root, f"ett/{name}.csv",
      hint=f"copy ETT-small/{name}.csv from https://github.com/zhouhaoyi/ETDataset there "
           "(see ../shared/data/ett/PROVENANCE.md)")
  download.verify_sha256(path, ETT_SHA256[name])
  series = load_csv(path, name)
  if series.columns != ETT_COLUMNS:
    raise ValueError(f"{path}: columns {series.columns} are not ETT's {ETT_COLUMNS}")
  return series


def load_demand(world_dir: str | pathlib.Path) -> Series:
  """The shop world's daily demand: `<world_dir>/demand.csv` (date,<one column per category>)."""
  path = pathlib.Path(world_dir) / "demand.csv"
  if not path.is_file():
    raise FileNotFoundError(f"{path} does not exist; write a shop world first "
                            "(common.shopworld.world.generate(seed=0).write(world_dir))")
  return load_csv(path, "shopworld_demand")
