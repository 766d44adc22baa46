"""CIFAR-10: python batches (small ones, written in the real format) decoded into HWC images, the
registry's published md5s checked on the batches and on the archive, and a clear error when absent."""

import dataclasses
import hashlib
import pickle
import tarfile

import numpy as np
import pytest

from common.data import datasets, download
from vision.data import cifar10


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


@pytest.fixture
def published_as(monkeypatch):
  """Makes the registry list our small files' md5s as CIFAR-10's published ones."""
  entry = datasets.DATASETS["cifar10"]

  def publish(md5, archive_md5=None):
    monkeypatch.setitem(datasets.DATASETS, "cifar10", dataclasses.replace(
        entry, md5=dict(md5), archive_md5=archive_md5 or entry.archive_md5))
  return publish


def test_cifar10_batches_decode_channel_planes_into_hwc_images(tmp_path, published_as):
  blobs, md5 = _write_cifar(tmp_path / "cifar-10-batches-py")
  published_as(md5)
  (train_x, train_y), (test_x, _), names = cifar10.read_batches(tmp_path)
  assert train_x.shape == (20, 32, 32, 3) and test_x.shape == (3, 32, 32, 3)
  assert train_y.tolist()[:4] == [1, 2, 3, 4]  # data_batch_1 comes first
  row = pickle.loads(blobs["data_batch_1"])["data"][0]
  # Pixel (0, 1): red plane byte 1, green plane byte 1024 + 1, blue plane byte 2048 + 1.
  assert train_x[0, 0, 1].tolist() == [row[1], row[1025], row[2049]]
  assert names == [f"c{i}" for i in range(10)]


def test_cifar10_checks_published_md5_of_batches(tmp_path):
  _write_cifar(tmp_path / "cifar-10-batches-py")
  with pytest.raises(download.ChecksumError, match="expected c99cafc152244af753f735de768cd75f"):
    cifar10.read_batches(tmp_path)


def test_cifar10_reads_the_archive_and_checks_its_md5(tmp_path, published_as):
  _, md5 = _write_cifar(tmp_path / "src" / "cifar-10-batches-py")
  archive = tmp_path / "cifar10" / cifar10.ARCHIVE
  archive.parent.mkdir()
  with tarfile.open(archive, "w:gz") as tar:
    tar.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
  published_as(md5, archive_md5=hashlib.md5(archive.read_bytes(), usedforsecurity=False).hexdigest())
  (_, train_y), _, _ = cifar10.read_batches(archive.parent)
  assert len(train_y) == 20
  published_as(md5)  # the real archive's published md5 again
  with pytest.raises(download.ChecksumError, match="c58f30108f718f92721af3b95e74349a"):
    cifar10.read_batches(archive.parent)


def test_cifar10_split_keeps_the_official_test_and_is_fingerprinted(tmp_path, published_as):
  _, md5 = _write_cifar(tmp_path / "cifar10" / "cifar-10-batches-py")
  published_as(md5)
  splits = cifar10.read(tmp_path, validation_fraction=0.25)
  assert splits.sizes["test"] == 3 and splits.sizes["train"] + splits.sizes["validation"] == 20
  assert splits.class_names == [f"c{i}" for i in range(10)]
  assert splits.fingerprint.startswith("cifar10:")


def test_cifar10_missing_says_where_to_get_it(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"cifar-10-python.tar.gz.*fetch -- cifar10"):
    cifar10.read_batches(tmp_path)
