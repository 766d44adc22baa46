"""The synthetic shop world's item images (`items.csv` + `images/`), labelled by category.

The world is deterministic from its seed (`common.shopworld`), so tests and the demo train on the
same pictures everywhere; split by a hash of the item id. The label order is the world's
`labels.txt` where present (the order its TFRecord uses), else the sorted categories.
"""

import os

import tensorflow as tf

from common.data import csv_reader, fingerprint
from common.data import data_dir as data_dir_lib
from vision.data import examples

COLUMNS = ("item_id", "category", "image_path")


def _read(path: str) -> bytes:
  with tf.io.gfile.GFile(path, "rb") as f:
    return f.read()


def read(world_dir, fractions=(0.8, 0.1, 0.1)) -> examples.Splits:
  """The item images of the world written to `world_dir` (local or any tf.io.gfile location)."""
  world_dir = os.fspath(world_dir)
  items = os.path.join(world_dir, "items.csv")
  if not tf.io.gfile.exists(items):
    raise data_dir_lib.DataNotFoundError(
        f"{world_dir} has no items.csv; write a shop world first: "
        "`bazel run //common/shopworld:generate -- --out_dir=DIR` and pass "
        "--config.data.path=DIR")
  items_text = _read(items).decode()
  header = items_text.split("\n", 1)[0].strip().split(",")
  missing = set(COLUMNS) - set(header)
  if missing:
    raise ValueError(f"{items} has columns {header} but no {sorted(missing)}; is it a shop world?")
  columns = csv_reader.read_columns(items, header)
  item_ids, categories, paths = (columns[k] for k in COLUMNS)
  labels_txt = os.path.join(world_dir, "labels.txt")
  class_names = (_read(labels_txt).decode().split("\n")[:-1] if tf.io.gfile.exists(labels_txt)
                 else sorted(set(categories)))
  unknown = sorted(set(categories) - set(class_names))
  if unknown:
    raise ValueError(f"{items} has categories {unknown} that {labels_txt} does not list")
  labels = [class_names.index(c) for c in categories]
  encoded = [_read(os.path.join(world_dir, p)) for p in paths]
  # The items table names every image and its label; the world is generated, so its images
  # follow from it.
  return examples.from_arrays(item_ids, encoded, labels, class_names, fractions,
                              fingerprint.of("shopworld", items_text))
