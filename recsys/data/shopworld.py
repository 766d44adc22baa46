"""The synthetic shop world as a recommendation dataset (the demo's and the tests' data).

`common/shopworld` writes items.csv (item_id,title,description,category,price,image_path),
interactions.csv (user_id,item_id,timestamp,rating) and the item pictures; this module
reads them into the same tables MovieLens loads into, with the title and description as
item text and the pictures as encoded PNG bytes for the image tower. The folder may be local or
on any file system TensorFlow knows (gs://, ram://): every read goes through tf.io.gfile.
A generated world has no published checksums: `fingerprint` hashes what was read.
"""

from __future__ import annotations

import csv
import os
import pathlib

import numpy as np
import tensorflow as tf

from common.data import fingerprint as fingerprint_lib
from recsys.data.interactions import Catalog, Interactions, read_interactions

_HINT = "generate it with `bazel run //common/shopworld:generate -- --out_dir=DIR` and pass that DIR"


def _require(world_dir: str | pathlib.Path, name: str) -> str:
  path = os.path.join(str(world_dir), name)
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f"{path} does not exist: {world_dir} is not a shop world folder; {_HINT}")
  return path


def load_interactions(world_dir: str | pathlib.Path) -> Interactions:
  return read_interactions(_require(world_dir, "interactions.csv"))


def load_catalog(world_dir: str | pathlib.Path) -> Catalog:
  path = _require(world_dir, "items.csv")
  ids, texts, cats, images, prices = [], [], [], [], []
  with tf.io.gfile.GFile(path, "r") as f:
    for line, row in enumerate(csv.DictReader(f), start=2):
      try:
        ids.append(row["item_id"])
        texts.append(f"{row['title']}. {row['description']}")
        cats.append(row["category"])
        images.append(os.path.join(str(world_dir), row["image_path"]))
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
  images = {}
  for item, path in zip(catalog.item_id, catalog.image_path, strict=True):
    with tf.io.gfile.GFile(path, "rb") as f:
      images[item] = f.read()
  return images


def fingerprint(world_dir: str | pathlib.Path, images: dict[str, bytes] | None = None
                ) -> fingerprint_lib.Fingerprint:
  """The fingerprint of a shop world as read: its two tables' contents and the item pictures."""
  fp = fingerprint_lib.Fingerprint("shopworld")
  for name in ("items.csv", "interactions.csv"):
    fp.update(name).update_file(_require(world_dir, name))
  for item in sorted(images or {}):
    fp.update(item, images[item])
  return fp
