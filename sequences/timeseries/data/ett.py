"""The four ETT-small files (checksum-verified) and ETT-format CSVs by path: `data.source=ett`.

ETT (Electricity Transformer Temperature, Zhou et al. 2021) is the field's standard forecasting
benchmark: two hourly files (ETTh1/2) and two 15-minute ones (ETTm1/2), seven load and oil
temperature columns each. The files' sha256 sums live in the dataset registry
(`common/data/datasets.py`); a file is verified before it is read, so a truncated copy or another
version is caught before it becomes a quietly different figure.
"""

from __future__ import annotations

import dataclasses
import os

from common.data import data_dir as data_dir_lib
from common.data import datasets, download
from sequences.timeseries.data import csv_file
from sequences.timeseries.data.series import Series

DATASET = "ett"
# The frequency each file's protocol assumes: ETTh is hourly, ETTm is sampled every 15 minutes.
FREQUENCY = {"ETTh1": "hourly", "ETTh2": "hourly", "ETTm1": "15min", "ETTm2": "15min"}
COLUMNS = ("HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT")


def load(data_dir: str | os.PathLike | None, name: str = "ETTh1") -> Series:
  """ETTh1/ETTh2/ETTm1/ETTm2 from `<data_dir>/ett/<name>.csv` after checking its sha256.

  Args:
    data_dir: the datasets root (`--data_dir`; None = env TRELLIS_DATA_DIR or ../shared/data).
    name: one of `FREQUENCY`.

  Raises:
    ValueError: an unknown name. data_dir.DataNotFoundError: the file is missing (the message
      says where to place it and how to fetch it). download.ChecksumError: another version.
  """
  if name not in FREQUENCY:
    raise ValueError(f"unknown ETT file {name!r}; choose one of {sorted(FREQUENCY)} (or pass "
                     "the path of an ETT-format CSV as --config.data.path)")
  root = data_dir_lib.resolve(None if data_dir is None else str(data_dir))
  path = datasets.require(root, DATASET, f"{name}.csv")
  return _ett_columns(csv_file.load(path, name, dataset=DATASET))


def load_format(path: str | os.PathLike) -> Series:
  """An ETT-format CSV (`date,HUFL,...,OT`, any number of value columns) at `path`.

  The series is named after the file; a file whose bytes are one of the four ETT files' (by
  sha256) is named after that file, so the published figures for it apply.
  """
  path = os.fspath(path)
  series = csv_file.load(path)
  file_name = os.path.basename(path)
  if csv_file.stem(path) in FREQUENCY and _is_published(path, file_name):
    return _ett_columns(dataclasses.replace(series, name=csv_file.stem(path), dataset=DATASET))
  return dataclasses.replace(series, name=file_name)


def _is_published(path: str, file_name: str) -> bool:
  """Whether the file at `path` (local or gs://) has the registry's checksum for `file_name`."""
  try:
    datasets.verify(DATASET, file_name, path)
  except download.ChecksumError:
    return False
  return True


def _ett_columns(series: Series) -> Series:
  if series.columns != COLUMNS:
    raise ValueError(f"{series.source}: columns {series.columns} are not ETT's {COLUMNS}")
  return series
