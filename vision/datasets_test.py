"""Loaders: checksummed MNIST/Fashion-MNIST idx and CIFAR-10 python files (small files written in
the real formats), digits and shop-world splits that repeat, and clear errors for bad data."""

import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from common.data import download, idx
from vision import datasets

IDX_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def _write_idx_set(directory, n_train=30, n_test=10):
  rng = np.random.default_rng(0)
  arrays = {
      IDX_NAMES[0]: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
      IDX_NAMES[1]: (np.arange(n_train) % 10).astype(np.uint8),
      IDX_NAMES[2]: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
      IDX_NAMES[3]: (np.arange(n_test) % 10).astype(np.uint8),
  }
  directory.mkdir(parents=True, exist_ok=True)
  for name, array in arrays.items():
    idx.write_idx(directory / name, array)
  return arrays, {name: download.sha256_of(directory / name) for name in arrays}


def test_idx_loader_reads_what_was_written_when_checksums_match(tmp_path):
  arrays, sha = _write_idx_set(tmp_path / "mnist")
  (train_x, _), (_, test_y) = datasets.load_idx(tmp_path / "mnist", "mnist", sha)
  np.testing.assert_array_equal(train_x, arrays[IDX_NAMES[0]])
  np.testing.assert_array_equal(test_y, arrays[IDX_NAMES[3]])


def test_idx_loader_checks_the_published_sha256_by_default(tmp_path):
  _write_idx_set(tmp_path / "fashion_mnist")
  # Our small files are not the published ones: the TFDS-listed sha256 must reject them.
  with pytest.raises(download.ChecksumError, match=r"3aede38d|346e55b9|a04f1713|67da17c7"):
    datasets.load_idx(tmp_path / "fashion_mnist", "fashion_mnist")


def test_idx_missing_file_says_what_to_place_where(tmp_path):
  _, sha = _write_idx_set(tmp_path / "mnist")
  (tmp_path / "mnist" / IDX_NAMES[1]).unlink()
  with pytest.raises(FileNotFoundError, match=r"train-labels-idx1-ubyte.gz is missing: place"):
    datasets.load_idx(tmp_path / "mnist", "mnist", sha)


def test_idx_dataset_keeps_official_test_and_hashes_validation_out_of_train(tmp_path):
  _, sha = _write_idx_set(tmp_path / "mnist", n_train=200, n_test=10)
  data = datasets.idx_dataset(tmp_path, "mnist", validation_fraction=0.2, sha256=sha)
  assert data.sizes["test"] == 10
  assert data.sizes["train"] + data.sizes["validation"] == 200
  assert 20 <= data.sizes["validation"] <= 60  # ~40 by the hash, not exactly
  encoded, label = next(iter(data.test))
  assert tf.io.decode_png(encoded).shape == (28, 28, 1)  # PNG-encoded, decoded like any upload
  assert int(label) == 0


def _cifar_batch(n, offset):
  rng = np.random.default_rng(offset)
  return {"batch_label": f"batch {offset}", "labels": [(offset + i) % 10 for i in range(n)],
          "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "filenames": [""] * n}


def _write_cifar(folder):
  folder.mkdir(parents=True)
  blobs = {f"data_batch_{k}": pickle.dumps(_cifar_batch(4, k)) for k in range(1, 6)}
  blobs["test_batch"] = pickle.dumps(_cifar_batch(3, 9))
  blobs["batches.meta"] = pickle.dumps({"label_names": [f"c{i}" for i in range(10)]})
  for name, blob in blobs.items():
    (folder / name).write_bytes(blob)
  return blobs, {name: hashlib.md5(b, usedforsecurity=False).hexdigest() for name, b in blobs.items()}


def test_cifar10_batches_decode_channel_planes_into_hwc_images(tmp_path):
  blobs, md5 = _write_cifar(tmp_path / "cifar-10-batches-py")
  (train_x, train_y), (test_x, _), names = datasets.load_cifar10(tmp_path, md5)
  assert train_x.shape == (20, 32, 32, 3) and test_x.shape == (3, 32, 32, 3)
  assert train_y.tolist()[:4] == [1, 2, 3, 4]  # data_batch_1 comes first
  row = pickle.loads(blobs["data_batch_1"])["data"][0]
  # Pixel (0, 1): red plane byte 1, green plane byte 1024 + 1, blue plane byte 2048 + 1.
  assert train_x[0, 0, 1].tolist() == [row[1], row[1025], row[2049]]
  assert names == [f"c{i}" for i in range(10)]


def test_cifar10_checks_published_md5_of_batches(tmp_path):
  _write_cifar(tmp_path / "cifar-10-batches-py")
  with pytest.raises(download.ChecksumError, match="expected c99cafc152244af753f735de768cd75f"):
    datasets.load_cifar10(tmp_path)


def test_cifar10_reads_the_archive_and_checks_its_md5(tmp_path):
  _, md5 = _write_cifar(tmp_path / "src" / "cifar-10-batches-py")
  archive = tmp_path / "cifar10" / datasets.CIFAR10_ARCHIVE
  archive.parent.mkdir()
  with tarfile.open(archive, "w:gz") as tar:
    tar.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
  (_, train_y), _, _ = datasets.load_cifar10(archive.parent, md5)
  assert len(train_y) == 20
  with pytest.raises(download.ChecksumError, match="c58f30108f718f92721af3b95e74349a"):
    datasets.load_cifar10(archive.parent)  # published md5 of the real archive


def test_cifar10_missing_says_where_to_get_it(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"cifar-10-python.tar.gz"):
    datasets.load_cifar10(tmp_path)


def test_digits_split_is_repeatable_and_a_partition():
  a, b = datasets.digits(), datasets.digits()
  assert a.sizes == b.sizes
  assert sum(a.sizes.values()) == 1797
  labels = lambda ds: [int(y) for _, y in ds.as_numpy_iterator()]  # noqa: E731
  assert labels(a.test) == labels(b.test)
  assert a.train_label_counts.sum() == a.sizes["train"]


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
  data = datasets.shopworld(world)
  assert data.class_names == ["books", "toys"]
  assert sum(data.sizes.values()) == 20
  again = datasets.shopworld(world)
  assert [int(y) for _, y in data.test] == [int(y) for _, y in again.test]


def test_unknown_source_and_missing_world_dir_are_explained():
  from common import config as config_lib

  cfg = config_lib.load("vision/configs/default.py")
  with pytest.raises(ValueError, match=r"needs data.world_dir"):
    datasets.load(cfg.data)
  with cfg.unlocked():
    cfg.data.source = "imagenet21k"
  with pytest.raises(ValueError, match="is not one of shopworld, digits"):
    datasets.load(cfg.data)


def _write_pair(directory, n=60, shape=(8, 8), prefix="train"):
  rng = np.random.default_rng(1)
  images = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
  labels = (np.arange(n) % 3).astype(np.uint8)
  images_path = f"{directory}/{prefix}-images-idx3-ubyte.gz"
  labels_path = f"{directory}/{prefix}-labels-idx1-ubyte"
  idx.write_idx(images_path, images)
  idx.write_idx(labels_path, labels)
  return images_path, labels_path, images, labels


def test_one_idx_pair_is_hash_split_repeatably(tmp_path):
  images_path, labels_path, images, labels = _write_pair(tmp_path)
  data = datasets.idx_pair_dataset(images_path, labels_path)
  assert data.class_names == ["0", "1", "2"] and sum(data.sizes.values()) == 60
  assert min(data.sizes.values()) > 0
  again = datasets.idx_pair_dataset(images_path, labels_path)
  assert [int(y) for _, y in data.test] == [int(y) for _, y in again.test]
  encoded, label = next(iter(data.train))
  decoded = tf.io.decode_png(encoded).numpy()[..., 0]
  # the record is found by its pixels: images and labels stay paired through the split
  (i,) = [i for i in range(60) if np.array_equal(images[i], decoded)]
  assert int(label) == labels[i]
  named = datasets.idx_pair_dataset(images_path, labels_path, class_names=["a", "b", "c"])
  assert named.class_names == ["a", "b", "c"]
  with pytest.raises(idx.IdxFormatError, match=r"labels-idx1-ubyte: record 2 has label 2 but "
                     "data.class_names names 2 classes"):
    datasets.idx_pair_dataset(images_path, labels_path, class_names=["a", "b"])


def test_idx_pair_through_the_config_and_on_a_non_local_file_system():
  # ram:// stands in for gs://bucket/...: every read goes through tf.io.gfile.
  from common import config as config_lib

  tf.io.gfile.makedirs("ram://idx_pair")
  images_path, labels_path, _, _ = _write_pair("ram://idx_pair", n=30, prefix="t10k")
  cfg = config_lib.load("vision/configs/default.py", ["data.source=idx"])
  with pytest.raises(ValueError, match=r"needs one images/labels pair.*--config\.data\.labels="):
    datasets.load(cfg.data)
  cfg = config_lib.load("vision/configs/default.py", [
      "data.source=idx", f"data.images={images_path}", f"data.labels={labels_path}"])
  assert sum(datasets.load(cfg.data).sizes.values()) == 30


def test_idx_pair_format_errors_name_the_file_and_the_fix(tmp_path):
  images_path, labels_path, _, _ = _write_pair(tmp_path)
  with pytest.raises(FileNotFoundError, match=r"idx file .*/absent-labels does not exist"):
    datasets.idx_pair_dataset(images_path, str(tmp_path / "absent-labels"))
  with pytest.raises(idx.IdxFormatError, match=r"train-labels-idx1-ubyte: holds uint8 of shape "
                     r"\(60,\).*Is it a labels file"):
    datasets.idx_pair_dataset(labels_path, images_path)
  (tmp_path / "page.gz").write_bytes(b"<html>404</html>")
  with pytest.raises(idx.IdxFormatError, match=r"page\.gz: bad magic number"):
    datasets.idx_pair_dataset(str(tmp_path / "page.gz"), labels_path)


def test_image_folder_on_a_non_local_file_system_is_split_by_relative_path():
  from common import config as config_lib

  for i in range(12):
    tf.io.gfile.makedirs(f"ram://folder_split/{'cat' if i % 2 else 'dog'}")
    with tf.io.gfile.GFile(f"ram://folder_split/{'cat' if i % 2 else 'dog'}/{i}.png", "wb") as f:
      f.write(datasets.encode_png(np.full((4, 4), i, np.uint8)))
  data = datasets.folder_dataset("ram://folder_split", (0.5, 0.3, 0.2))
  assert data.class_names == ["cat", "dog"] and sum(data.sizes.values()) == 12
  assert len(list(data.train)) == data.sizes["train"]
  cfg = config_lib.load("vision/configs/default.py", ["data.source=image_folder"])
  with pytest.raises(ValueError, match=r"needs --config\.data\.root="):
    datasets.load(cfg.data)


def test_a_file_in_an_image_folder_that_is_not_an_image_is_named(tmp_path):
  for i in range(20):
    (tmp_path / "cls" / "a").mkdir(parents=True, exist_ok=True)
    (tmp_path / "cls" / "a" / f"{i}.png").write_bytes(datasets.encode_png(np.zeros((2, 2), np.uint8)))
  (tmp_path / "cls" / "a" / "3.png").write_text("<html>not an image</html>")
  data = datasets.folder_dataset(tmp_path / "cls", (0.4, 0.3, 0.3))
  splits = (data.train, data.validation, data.test)
  with pytest.raises(tf.errors.InvalidArgumentError, match=r"cls/a/3\.png.*is not a PNG or JPEG "
                     r"image.*convert or delete it"):
    for split in splits:
      list(split)
