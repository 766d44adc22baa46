"""idx sources: the official MNIST/Fashion-MNIST files checked against the registry's sha256s
(small files written in the real format), and ONE images/labels pair, hash-split repeatably, with
format errors that name the file and the fix."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from common import config as config_lib
from common.data import datasets, download
from common.data import idx as idx_format
from vision import data
from vision.data import idx

IDX_NAMES = idx.FILES


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
    idx_format.write_idx(directory / name, array)
  return arrays, {name: download.sha256_of(directory / name) for name in arrays}


@pytest.fixture
def published_as(monkeypatch):
  """Makes the registry list `sha` as dataset `name`'s published sha256s (our small files)."""
  def publish(name, sha):
    monkeypatch.setitem(datasets.DATASETS, name,
                        dataclasses.replace(datasets.DATASETS[name], files=dict(sha)))
  return publish


def test_idx_loader_reads_what_was_written_when_checksums_match(tmp_path, published_as):
  arrays, sha = _write_idx_set(tmp_path / "mnist")
  published_as("mnist", sha)
  (train_x, _), (_, test_y) = idx.read_official(tmp_path / "mnist", "mnist")
  np.testing.assert_array_equal(train_x, arrays[IDX_NAMES[0]])
  np.testing.assert_array_equal(test_y, arrays[IDX_NAMES[3]])


def test_idx_loader_checks_the_published_sha256_by_default(tmp_path):
  _write_idx_set(tmp_path / "fashion_mnist")
  # Our small files are not the published ones: the TFDS-listed sha256 must reject them.
  with pytest.raises(download.ChecksumError, match=r"3aede38d|346e55b9|a04f1713|67da17c7"):
    idx.read_official(tmp_path / "fashion_mnist", "fashion_mnist")


def test_idx_missing_file_says_what_to_place_where(tmp_path, published_as):
  _, sha = _write_idx_set(tmp_path / "mnist")
  published_as("mnist", sha)
  (tmp_path / "mnist" / IDX_NAMES[1]).unlink()
  with pytest.raises(FileNotFoundError, match=r"train-labels-idx1-ubyte.gz is missing: place"
                     r".*fetch -- mnist"):
    idx.read_official(tmp_path / "mnist", "mnist")
  with pytest.raises(ValueError, match=r"unknown idx dataset 'kmnist'"):
    idx.read_official(tmp_path / "mnist", "kmnist")


def test_idx_dataset_keeps_official_test_and_hashes_validation_out_of_train(tmp_path, published_as):
  _, sha = _write_idx_set(tmp_path / "mnist", n_train=200, n_test=10)
  published_as("mnist", sha)
  splits = idx.read(tmp_path, "mnist", validation_fraction=0.2)
  assert splits.sizes["test"] == 10
  assert splits.sizes["train"] + splits.sizes["validation"] == 200
  assert 20 <= splits.sizes["validation"] <= 60  # ~40 by the hash, not exactly
  encoded, label = next(iter(splits.test))
  assert tf.io.decode_png(encoded).shape == (28, 28, 1)  # PNG-encoded, decoded like any upload
  assert int(label) == 0
  assert splits.fingerprint.startswith("mnist:")


def _write_pair(directory, n=60, shape=(8, 8), prefix="train"):
  rng = np.random.default_rng(1)
  images = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
  labels = (np.arange(n) % 3).astype(np.uint8)
  images_path = f"{directory}/{prefix}-images-idx3-ubyte.gz"
  labels_path = f"{directory}/{prefix}-labels-idx1-ubyte"
  idx_format.write_idx(images_path, images)
  idx_format.write_idx(labels_path, labels)
  return images_path, labels_path, images, labels


def test_one_idx_pair_is_hash_split_repeatably(tmp_path):
  images_path, labels_path, images, labels = _write_pair(tmp_path)
  splits = idx.read_pair(images_path, labels_path)
  assert splits.class_names == ["0", "1", "2"] and sum(splits.sizes.values()) == 60
  assert min(splits.sizes.values()) > 0
  again = idx.read_pair(images_path, labels_path)
  assert [int(y) for _, y in splits.test] == [int(y) for _, y in again.test]
  assert splits.fingerprint == again.fingerprint
  encoded, label = next(iter(splits.train))
  decoded = tf.io.decode_png(encoded).numpy()[..., 0]
  # the record is found by its pixels: images and labels stay paired through the split
  (i,) = [i for i in range(60) if np.array_equal(images[i], decoded)]
  assert int(label) == labels[i]
  named = idx.read_pair(images_path, labels_path, class_names=["a", "b", "c"])
  assert named.class_names == ["a", "b", "c"]
  with pytest.raises(idx_format.IdxFormatError, match=r"labels-idx1-ubyte: record 2 has label 2 "
                     "but data.class_names names 2 classes"):
    idx.read_pair(images_path, labels_path, class_names=["a", "b"])


def test_idx_pair_through_the_config_and_on_a_non_local_file_system():
  # ram:// stands in for gs://bucket/...: every read goes through tf.io.gfile.
  tf.io.gfile.makedirs("ram://idx_pair")
  images_path, labels_path, _, _ = _write_pair("ram://idx_pair", n=30, prefix="t10k")
  cfg = config_lib.load("vision/configs/default.py", ["data.source=idx"])
  with pytest.raises(ValueError, match=r"needs one images/labels pair.*--config\.data\.labels="):
    data.load(cfg.data)
  cfg = config_lib.load("vision/configs/default.py", [
      "data.source=idx", f"data.images={images_path}", f"data.labels={labels_path}"])
  assert sum(data.load(cfg.data).sizes.values()) == 30


def test_idx_pair_format_errors_name_the_file_and_the_fix(tmp_path):
  images_path, labels_path, _, _ = _write_pair(tmp_path)
  with pytest.raises(FileNotFoundError, match=r"idx file .*/absent-labels does not exist"):
    idx.read_pair(images_path, str(tmp_path / "absent-labels"))
  with pytest.raises(idx_format.IdxFormatError, match=r"train-labels-idx1-ubyte: holds uint8 of "
                     r"shape \(60,\).*Is it a labels file"):
    idx.read_pair(labels_path, images_path)
  (tmp_path / "page.gz").write_bytes(b"<html>404</html>")
  with pytest.raises(idx_format.IdxFormatError, match=r"page\.gz: bad magic number"):
    idx.read_pair(str(tmp_path / "page.gz"), labels_path)
