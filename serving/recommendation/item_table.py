"""What the server knows about items beyond their ids: category, price, title, image.

The export holds only ids and embeddings (`assets/item_ids.txt`,
`assets/candidate_embeddings.npy`); filters ("shoes under 50") and the demo page
need attributes, so the server reads the shop world's item table
(`items.csv`: item_id,title,description,category,price,image_path) given by
`--items_csv`. Items the export knows but the table lacks simply have no
attributes (they never match a filter).
"""

from __future__ import annotations

import csv
import dataclasses
import pathlib

import numpy as np


@dataclasses.dataclass(frozen=True)
class Item:
  item_id: str
  title: str
  description: str
  category: str
  price: float
  image_path: str  # relative to the table's folder

  @property
  def text(self) -> str:
    """The item text the model was trained on (recsys/data/shopworld.py builds it the same way)."""
    return f"{self.title}. {self.description}"


class ItemTable:
  """item_id -> Item, plus per-row attribute arrays aligned to an export's catalogue."""

  def __init__(self, items: dict[str, Item], root: pathlib.Path | None = None):
    self.items = items
    self.root = root

  @classmethod
  def read_csv(cls, path: str | pathlib.Path) -> ItemTable:
    path = pathlib.Path(path)
    if not path.exists():
      raise FileNotFoundError(f"--items_csv {path} does not exist; pass the shop world's items.csv "
                              "(`bazel run //common/shopworld:generate -- --out_dir=DIR` writes one)")
    items = {}
    with path.open(newline="") as f:
      for line, row in enumerate(csv.DictReader(f), start=2):
        try:
          items[row["item_id"]] = Item(row["item_id"], row["title"], row["description"], row["category"],
                                       float(row["price"]), row["image_path"])
        except (KeyError, TypeError, ValueError) as e:
          raise ValueError(f"{path}:{line}: expected item_id,title,description,category,price,"
                           f"image_path with a numeric price ({e})") from e
    return cls(items, path.parent)

  def get(self, item_id: str) -> Item | None:
    return self.items.get(item_id)

  def categories(self, item_ids: np.ndarray) -> np.ndarray:
    return np.array([i.category if (i := self.items.get(x)) else "" for x in item_ids], dtype=object)

  def prices(self, item_ids: np.ndarray) -> np.ndarray:
    return np.array([i.price if (i := self.items.get(x)) else np.nan for x in item_ids], dtype=np.float32)
