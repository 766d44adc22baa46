"""Interaction and item tables: the two inputs every recommender here reads.

The on-disk contract (DESIGN.md, data formats) is two CSV files:

  interactions.csv   user_id,item_id,timestamp[,rating]
  items.csv          item_id,text,categories[,image_path][,price]

Ids are strings everywhere (MovieLens' integers become "1", "2", ...): the
models hash or look up strings, so a new id never needs a schema change.
Timestamps are integer seconds since the epoch.
"""

from __future__ import annotations

import csv
import dataclasses
import pathlib

import numpy as np
import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class Interactions:
  """A columnar table of (user, item, time[, rating]) events, one row each."""

  user_id: np.ndarray  # str
  item_id: np.ndarray  # str
  timestamp: np.ndarray  # int64 seconds
  rating: np.ndarray | None = None  # float32, when the data has explicit ratings

  def __post_init__(self):
    n = len(self.user_id)
    for name in ("item_id", "timestamp") + (("rating",) if self.rating is not None else ()):
      if len(getattr(self, name)) != n:
        raise ValueError(f"Interactions.{name} has {len(getattr(self, name))} rows, user_id has {n}")

  def __len__(self) -> int:
    return len(self.user_id)

  def take(self, index: np.ndarray) -> Interactions:
    """Rows at `index` (an int array or a boolean mask), in that order."""
    return Interactions(
        self.user_id[index], self.item_id[index], self.timestamp[index],
        None if self.rating is None else self.rating[index])

  def sorted_by_time(self) -> Interactions:
    """Rows ordered by (user, timestamp, item): the order sequence models read."""
    order = np.lexsort((self.item_id, self.timestamp, self.user_id))
    return self.take(order)


@dataclasses.dataclass(frozen=True)
class Catalog:
  """The item table: what the candidate tower knows about each item."""

  item_id: np.ndarray  # str
  text: np.ndarray  # str: title and description, or title and genres
  category: np.ndarray  # str: the primary category (slices, filters, cold-start checks)
  image_path: np.ndarray | None = None  # str paths (absolute), when items have pictures
  price: np.ndarray | None = None  # float32

  def __len__(self) -> int:
    return len(self.item_id)

  def index(self) -> dict[str, int]:
    """item_id -> row."""
    return {item: i for i, item in enumerate(self.item_id)}


def read_interactions(path: str | pathlib.Path) -> Interactions:
  """Reads `user_id,item_id,timestamp[,rating]` CSV (with that header).

  `path` may be local or on any file system TensorFlow knows (gs://, ram://).

  Raises:
    ValueError: naming the file and line of a malformed row.
  """
  path = str(path)
  users, items, times, ratings = [], [], [], []
  with tf.io.gfile.GFile(path, "r") as f:
    reader = csv.reader(f)
    header = next(reader, None)
    expected = ["user_id", "item_id", "timestamp"]
    if header is None or header[:3] != expected or len(header) not in (3, 4):
      raise ValueError(
          f"{path}:1: expected the header user_id,item_id,timestamp[,rating], found {header}")
    has_rating = len(header) == 4
    for line, row in enumerate(reader, start=2):
      if len(row) != len(header):
        raise ValueError(f"{path}:{line}: expected {len(header)} fields, found {len(row)}: {row}")
      try:
        times.append(int(row[2]))
        if has_rating:
          ratings.append(float(row[3]))
      except ValueError as e:
        raise ValueError(f"{path}:{line}: timestamp must be an integer and rating a number: {row}") from e
      users.append(row[0])
      items.append(row[1])
  return Interactions(
      np.array(users, dtype=object), np.array(items, dtype=object), np.array(times, dtype=np.int64),
      np.array(ratings, dtype=np.float32) if has_rating else None)

