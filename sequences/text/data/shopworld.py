"""The synthetic shop world's items: "title. description" -> category (the demo and the tests).

`common.shopworld` writes `items.csv` (deterministic from a seed); the key of a record is its
`item_id`, so an item keeps its split however the world is re-rendered.
"""

from __future__ import annotations

import tensorflow as tf

from common.data import csv_reader, fingerprint
from sequences.text.data import dataset

NAME = "shopworld"
COLUMNS = ("item_id", "title", "description", "category", "price", "image_path")


def read(world_dir: str) -> dataset.TextDataset:
  """The items of the world written at `world_dir` (local or gs://)."""
  path = f"{str(world_dir).rstrip('/')}/items.csv"
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(
        f"{path} does not exist; write a shop world first: "
        f"`shopworld.generate(seed=0).write('{world_dir}')`")
  cols = csv_reader.read_columns(path, COLUMNS)
  texts = [dataset.check_text(f"{t}. {d}", f"{path}:{i + 2}")
           for i, (t, d) in enumerate(zip(cols["title"], cols["description"], strict=True))]
  return dataset.from_label_names(f"{NAME}/items.csv", texts, cols["category"], cols["item_id"],
                                  fingerprint.of_files(NAME, [path]))
