"""The synthetic shop world as a recommendation dataset (the demo's and the tests' data).

`common/shopworld` writes items.csv (item_id,title,description,category,price,image_path),
interactions.csv (user_id,item_id,timestamp,rating) and the item pictures; this module
reads them into the same tables MovieLens loads into, with the title and description as
item text and the pictures as encoded PNG bytes for the image tower.
"""

from __future__ import annotations

import csv
import pathlib

import numpy as np

from recsys.data.interactions import Catalog, Interactions, read_interactions

_HINT = "generate it with `bazel run //common/shopworld:generate -- --out_dir=DIR` and pass that DIR"


def _require(world_dir: str | pathlib.Path, name: str) -> pathlib.Path:
  path = pathlib.Path(world_dir) / name
  if not path.exists():
    raise FileNotFoundError(f"{path} does not exist: {world_dir} is not a shop world folder; {_HINT}")
  return path


def load_interactions(world_dir: str | pathlib.Path) -> Interactions:
  return read_interactions(_require(world_dir, "interactions.csv"))


def load_catalog(world_dir: str | pathlib.Path) -> Catalog:
  path = _require(world_dir, "items.csv")
  ids, texts, cats, images, prices = [], [], [], [], []
  with path.open(newline="") as f:
    for line, row in enumerate(csv.DictReader(f), start=2):
      try:
        ids.append(row["item_id"])
        texts.append(f"{row['title']}. {row['description']}")
        cats.append(row["category"])
        images.append(str(pathlib.Path(world_dir) / row["image_path"]))
        prices.append(float(row["price"]))
      except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path}:{line}: expected item_id,title,description,category,price,image_path "
                         f"columns with a numeric price ({e})") from e
  return Catalog(np.array(ids, dtype=object), np.array(texts, dtype=object), np.array(cats, dtype=object),
                 np.array(images, dtype=object), np.array(prices, dtype=np.float32))


def load_images(catalog: Catalog) -> dict[str, bytes]:
  """item_id -> encoded PNG bytes (what a client would upload for a new item)."""
  if catalog.image_path is None:
    return {}
  return {item: pathlib.Path(p).read_bytes() for item, p in zip(catalog.item_id, catalog.image_path, strict=True)}
