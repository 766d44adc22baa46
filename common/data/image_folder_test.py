"""image_folder: classes are sorted directory names; bad layouts are explained."""

import numpy as np
import pytest
from PIL import Image

from common.data import image_folder


def _write(path, value):
  path.parent.mkdir(parents=True, exist_ok=True)
  Image.fromarray(np.full((3, 3, 3), value, np.uint8)).save(path)


def test_lists_classes_and_images_in_order(tmp_path):
  _write(tmp_path / "toys" / "b.png", 1)
  _write(tmp_path / "toys" / "a.JPG", 2)
  _write(tmp_path / "books" / "z.png", 3)
  (tmp_path / "books" / "notes.txt").write_text("not an image")
  (tmp_path / ".hidden").mkdir()
  paths, labels, names = image_folder.list_images(tmp_path)
  assert names == ["books", "toys"]
  assert [p.split("/")[-1] for p in paths] == ["z.png", "a.JPG", "b.png"]
  assert labels == [0, 1, 1]


def test_dataset_yields_bytes_and_labels(tmp_path):
  _write(tmp_path / "a" / "1.png", 7)
  _write(tmp_path / "b" / "2.png", 9)
  ds, names = image_folder.image_dataset(tmp_path)
  got = [(bytes(e.numpy()[:4]), int(label)) for e, label in ds]
  assert names == ["a", "b"] and got == [(b"\x89PNG", 0), (b"\x89PNG", 1)]


def test_bad_layouts_are_explained(tmp_path):
  with pytest.raises(FileNotFoundError, match="does not exist"):
    image_folder.list_images(tmp_path / "nope")
  _write(tmp_path / "flat.png", 1)
  with pytest.raises(FileNotFoundError, match=r"no class sub-directories; expected .*/<class>/"):
    image_folder.list_images(tmp_path)
  (tmp_path / "empty_class").mkdir()
  with pytest.raises(FileNotFoundError, match="but no"):
    image_folder.list_images(tmp_path)


def test_folder_on_a_non_local_file_system():
  # ram:// stands in for gs://bucket/images: listing goes through tf.io.gfile.
  import tensorflow as tf

  for name, data in (("cats/1.png", b"a"), ("cats/2.jpg", b"b"), ("dogs/3.png", b"c"),
                     ("dogs/readme.txt", b"d")):
    tf.io.gfile.makedirs("ram://image_folder_test/" + name.split("/")[0])
    with tf.io.gfile.GFile(f"ram://image_folder_test/{name}", "wb") as f:
      f.write(data)
  paths, labels, names = image_folder.list_images("ram://image_folder_test")
  assert names == ["cats", "dogs"]
  assert paths == ["ram://image_folder_test/cats/1.png", "ram://image_folder_test/cats/2.jpg",
                   "ram://image_folder_test/dogs/3.png"]
  assert labels == [0, 0, 1]
  ds, _ = image_folder.image_dataset("ram://image_folder_test")
  assert [e.numpy() for e, _ in ds] == [b"a", b"b", b"c"]
