"""The other sources and `load`: digits and shop-world splits that repeat, image folders on any
file system with files that are not images named, and `load`'s errors for a wrong config."""

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from common import config as config_lib
from vision import data
from vision.data import digits, image_folder, png, shopworld


def test_digits_split_is_repeatable_and_a_partition():
  a, b = digits.read(), digits.read()
  assert a.sizes == b.sizes
  assert sum(a.sizes.values()) == 1797
  labels = lambda ds: [int(y) for _, y in ds.as_numpy_iterator()]  # noqa: E731
  assert labels(a.test) == labels(b.test)
  assert a.train_label_counts.sum() == a.sizes["train"]
  assert a.fingerprint == b.fingerprint and a.fingerprint.startswith("digits:")


def test_shopworld_images_are_labelled_by_category(tmp_path):
  world = tmp_path / "world"
  (world / "images" / "a").mkdir(parents=True)
  rows = ["item_id,title,description,category,price,image_path"]
  for i in range(20):
    buf = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), 10 * i, np.uint8)).save(buf, "PNG")
    (world / "images" / "a" / f"item_{i}.png").write_bytes(buf.getvalue())
    rows.append(f"item_{i},t,d,{'books' if i % 2 else 'toys'},1.00,images/a/item_{i}.png")
  (world / "items.csv").write_text("\n".join(rows) + "\n")
  splits = shopworld.read(world)
  assert splits.class_names == ["books", "toys"]
  assert sum(splits.sizes.values()) == 20
  again = shopworld.read(world)
  assert [int(y) for _, y in splits.test] == [int(y) for _, y in again.test]
  with pytest.raises(FileNotFoundError, match=r"has no items.csv; write a shop world first"):
    shopworld.read(tmp_path / "nowhere")


def test_unknown_source_and_missing_world_dir_are_explained():
  cfg = config_lib.load("vision/configs/default.py")
  with pytest.raises(ValueError, match=r"needs data.path"):
    data.load(cfg.data)
  with cfg.unlocked():
    cfg.data.source = "imagenet21k"
  with pytest.raises(ValueError, match="is not one of shopworld, digits"):
    data.load(cfg.data)


def test_image_folder_on_a_non_local_file_system_is_split_by_relative_path():
  for i in range(12):
    tf.io.gfile.makedirs(f"ram://folder_split/{'cat' if i % 2 else 'dog'}")
    with tf.io.gfile.GFile(f"ram://folder_split/{'cat' if i % 2 else 'dog'}/{i}.png", "wb") as f:
      f.write(png.encode(np.full((4, 4), i, np.uint8)))
  splits = image_folder.read("ram://folder_split", (0.5, 0.3, 0.2))
  assert splits.class_names == ["cat", "dog"] and sum(splits.sizes.values()) == 12
  assert len(list(splits.train)) == splits.sizes["train"]
  cfg = config_lib.load("vision/configs/default.py", ["data.source=image_folder"])
  with pytest.raises(ValueError, match=r"needs --config\.data\.path="):
    data.load(cfg.data)


def test_a_file_in_an_image_folder_that_is_not_an_image_is_named(tmp_path):
  for i in range(20):
    (tmp_path / "cls" / "a").mkdir(parents=True, exist_ok=True)
    (tmp_path / "cls" / "a" / f"{i}.png").write_bytes(png.encode(np.zeros((2, 2), np.uint8)))
  (tmp_path / "cls" / "a" / "3.png").write_text("<html>not an image</html>")
  splits = image_folder.read(tmp_path / "cls", (0.4, 0.3, 0.3))
  with pytest.raises(tf.errors.InvalidArgumentError, match=r"cls/a/3\.png.*is not a PNG or JPEG "
                     r"image.*convert or delete it"):
    for split in (splits.train, splits.validation, splits.test):
      list(split)
