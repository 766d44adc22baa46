"""Reading a shop world folder, locally and from a non-local file system (ram:// for gs://)."""

import numpy as np
import pytest
import tensorflow as tf

from recsys.data import shopworld

_ITEMS = ("item_id,title,description,category,price,image_path\n"
          "a,Red mug,A mug.,kitchen,4.5,images/a.png\n"
          "b,Blue lamp,A lamp.,home,12,images/b.png\n")
_INTERACTIONS = "user_id,item_id,timestamp,rating\nu1,a,100,5\nu2,b,200,3\n"


def _world(folder, items=_ITEMS):
  tf.io.gfile.makedirs(f"{folder}/images")
  for name, text in (("items.csv", items), ("interactions.csv", _INTERACTIONS)):
    with tf.io.gfile.GFile(f"{folder}/{name}", "w") as f:
      f.write(text)
  for item in ("a", "b"):
    with tf.io.gfile.GFile(f"{folder}/images/{item}.png", "wb") as f:
      f.write(b"\x89PNG " + item.encode())  # bytes are passed through, not decoded, here
  return folder


@pytest.mark.parametrize("filesystem", ["local", "ram"])
def test_loads_catalog_interactions_and_pictures(tmp_path, filesystem):
  folder = _world(str(tmp_path) if filesystem == "local" else f"ram://shopworld/{tmp_path.name}")
  catalog = shopworld.load_catalog(folder)
  assert list(catalog.item_id) == ["a", "b"]
  assert list(catalog.text) == ["Red mug. A mug.", "Blue lamp. A lamp."]
  assert list(catalog.category) == ["kitchen", "home"]
  np.testing.assert_array_equal(catalog.price, [4.5, 12.0])
  assert list(catalog.image_path) == [f"{folder}/images/a.png", f"{folder}/images/b.png"]
  assert shopworld.load_images(catalog) == {"a": b"\x89PNG a", "b": b"\x89PNG b"}
  table = shopworld.load_interactions(folder)
  assert list(table.user_id) == ["u1", "u2"]
  np.testing.assert_array_equal(table.rating, [5.0, 3.0])


def test_a_folder_that_is_not_a_shop_world_is_named_with_the_fix(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"not a shop world folder; generate it with"):
    shopworld.load_catalog(f"ram://shopworld/{tmp_path.name}/missing")


def test_a_bad_price_names_the_file_and_line(tmp_path):
  folder = _world(f"ram://shopworld/{tmp_path.name}", _ITEMS.replace("12,images", "twelve,images"))
  with pytest.raises(ValueError, match=r"items.csv:3: expected item_id,.*numeric price"):
    shopworld.load_catalog(folder)


def test_fingerprint_follows_the_tables_and_pictures(tmp_path):
  folder = _world(f"ram://shopworld/{tmp_path.name}/fp")
  images = shopworld.load_images(shopworld.load_catalog(folder))
  fp = str(shopworld.fingerprint(folder, images))
  assert fp.startswith("shopworld:") and fp == str(shopworld.fingerprint(folder, images))
  assert str(shopworld.fingerprint(folder, {**images, "a": b"other"})) != fp
  assert str(shopworld.fingerprint(folder)) != fp  # without pictures: another dataset
  other = _world(f"ram://shopworld/{tmp_path.name}/fp2", _ITEMS.replace("Red mug", "Red cup"))
  assert str(shopworld.fingerprint(other, images)) != fp
