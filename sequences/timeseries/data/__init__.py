"""Where a forecaster's series comes from: one module per source, one entry that picks it.

    series = data.load(config.data, data_dir)   # a `Series`, whatever the source

| `data.source` | module | what it reads |
|---|---|---|
| `ett` | `ett.py` | `data.name` = ETTh1/ETTh2/ETTm1/ETTm2 under `<data_dir>/ett/` (sha256 from `common/data/datasets.py`), or `data.path` = any ETT-format CSV |
| `csv` | `csv_file.py` | `data.path` = a `timestamp,col1,col2,...` CSV |
| `demand` | `demand.py` | `data.path` = a shop world's directory (its `demand.csv`) |

A new source is a new module here returning a `Series` (its fingerprint from
`common.data.fingerprint`, any published checksum in `common/data/datasets.py`) and one line in
`load`. Paths may be gs:// (everything goes through `tf.io.gfile`).
"""

from __future__ import annotations

import os

from sequences.timeseries.data import csv_file, demand, ett
from sequences.timeseries.data.series import Series

SOURCES = ("ett", "csv", "demand")

__all__ = ["SOURCES", "Series", "load"]


def load(data_config, data_dir: str | os.PathLike | None = None) -> Series:
  """The series `config.data` names (`data.source` ett | csv | demand).

  Raises:
    ValueError: an unknown source, or a source without the `data.path` it needs (naming the flag).
  """
  source = data_config.source
  if source == "ett":
    if data_config.path:
      return ett.load_format(data_config.path)
    return ett.load(data_dir, data_config.name)
  if source == "csv":
    if not data_config.path:
      raise ValueError("data.source=csv needs --config.data.path=/path/to/series.csv "
                       "(header `timestamp,col1,col2,...`)")
    return csv_file.load(data_config.path)
  if source == "demand":
    if not data_config.path:
      raise ValueError("data.source=demand needs --config.data.path=<shop world directory> "
                       "(the directory holding demand.csv)")
    return demand.load(data_config.path)
  raise ValueError(f"unknown data.source {source!r}; choose one of {', '.join(SOURCES)}")
