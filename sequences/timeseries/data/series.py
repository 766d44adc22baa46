"""`Series`: a multivariate time series in memory, whatever file or generator it came from.

Every source in this package (`ett`, `csv_file`, `demand`) returns one; windowing and scaling
happen later (`windowing`, `input_pipeline`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from common.data import fingerprint as fingerprint_lib


@dataclasses.dataclass(frozen=True)
class Series:
  """A multivariate series: `values[t, c]` is column `columns[c]` at `timestamps[t]`."""

  name: str
  timestamps: np.ndarray  # [T] numpy datetime64
  columns: tuple[str, ...]
  values: np.ndarray  # [T, C] float32
  source: str = ""  # the file it was read from (row i is on its line i + 2); "" if built in memory
  dataset: str = "series"  # what kind of data: ett | csv | shopworld (names the fingerprint)

  def __len__(self) -> int:
    return len(self.values)

  @property
  def fingerprint(self) -> str:
    """`<dataset>:<16 hex>` over the column names and values: the export's data fingerprint."""
    return fingerprint_lib.of(self.dataset, self.columns, self.values)
