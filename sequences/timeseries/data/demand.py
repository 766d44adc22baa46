"""The shop world's daily demand per category: `<world_dir>/demand.csv` (`data.source=demand`).

The synthetic shop world (common/shopworld) writes one column per category, one row per day; the
forecaster reads it like any CSV series, under the fingerprint source `shopworld`.
"""

from __future__ import annotations

import os

import tensorflow as tf

from sequences.timeseries.data import csv_file
from sequences.timeseries.data.series import Series

FILE = "demand.csv"
NAME = "shopworld_demand"


def load(world_dir: str | os.PathLike) -> Series:
  """`<world_dir>/demand.csv` (date,<one column per category>), local or gs://."""
  path = os.path.join(os.fspath(world_dir), FILE)
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f"{path} does not exist; write a shop world first "
                            "(common.shopworld.world.generate(seed=0).write(world_dir))")
  return csv_file.load(path, NAME, dataset="shopworld")
