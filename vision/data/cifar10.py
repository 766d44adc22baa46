"""CIFAR-10, python version: 50,000 train and 10,000 test images of 32x32 in 10 classes.

Read from `<data_dir>/cifar10/`: the extracted batches (`cifar-10-batches-py/<batch>`, or the
batches directly in that folder, as `bazel run //common/data:fetch -- cifar10` leaves them), else
the `cifar-10-python.tar.gz` archive. CIFAR publishes only md5s: the archive's on its homepage, the
batches' as torchvision lists them; both live in `common/data/datasets.py` and are checked before
anything is read. The official train/test split; validation is hashed out of train.
"""

import os
import pickle
import tarfile

import numpy as np
import tensorflow as tf

from common.data import data_dir as data_dir_lib
from common.data import datasets, download, fingerprint
from vision.data import examples

NAME = "cifar10"
ARCHIVE = "cifar-10-python.tar.gz"
BATCHES_DIR = "cifar-10-batches-py"


def _unpickle(data: bytes) -> dict:
  # The batches are Python 2 pickles of numpy arrays: latin1 keeps the byte strings intact.
  return pickle.loads(data, encoding="latin1")


def _read_bytes(path: str) -> bytes:
  with tf.io.gfile.GFile(path, "rb") as f:
    return f.read()


def _blobs(directory: str) -> dict[str, bytes]:
  """Each batch's bytes, verified, from the extracted folder or from the archive."""
  batches = list(datasets.get(NAME).md5)
  folder = next((d for d in (os.path.join(directory, BATCHES_DIR), directory)
                 if tf.io.gfile.exists(os.path.join(d, "test_batch"))), None)
  blobs = {}
  if folder is not None:
    for name in batches:
      path = os.path.join(folder, name)
      if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"{path} is missing; the CIFAR-10 python version has "
                                f"{', '.join(batches)}: extract {ARCHIVE} again")
      datasets.verify(NAME, name, path)
      blobs[name] = _read_bytes(path)
    return blobs
  archive = os.path.join(directory, ARCHIVE)
  if not tf.io.gfile.exists(archive):
    raise FileNotFoundError(
        f"no CIFAR-10 in {directory}: place {ARCHIVE} (md5 {datasets.get(NAME).archive_md5}, from "
        f"{datasets.get(NAME).homepage}) or its extracted {BATCHES_DIR}/ there, or run "
        f"`{datasets.fetch_command(NAME)}`")
  datasets.verify(NAME, ARCHIVE, archive)
  with tf.io.gfile.GFile(archive, "rb") as f, tarfile.open(fileobj=f, mode="r:gz") as tar:
    for member in tar.getmembers():
      name = os.path.basename(member.name)
      if name in batches:
        blobs[name] = tar.extractfile(member).read()
  for name in batches:
    if name not in blobs:
      raise download.ChecksumError(f"{archive}: member {name} is missing; download "
                                   f"{ARCHIVE} again")
    datasets.verify(NAME, name, blobs[name])
  return blobs


def read_batches(directory):
  """Reads CIFAR-10's python batches after checking their md5s.

  Returns:
    ((train_images, train_labels), (test_images, test_labels), class_names) with images
    uint8 [N, 32, 32, 3].

  Raises:
    FileNotFoundError: no batches and no archive (says what to place where), or a missing batch.
    common.data.download.ChecksumError: a batch or the archive is not the published one.
  """
  blobs = _blobs(os.fspath(directory))

  def images_labels(names):
    batches = [_unpickle(blobs[n]) for n in names]
    # Rows are 3072 bytes: 1024 red, then green, then blue, each 32x32 row-major.
    x = np.concatenate([b["data"] for b in batches]).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    y = np.concatenate([np.asarray(b["labels"]) for b in batches])
    return x.astype(np.uint8), y.astype(np.int64)

  train = images_labels(sorted(n for n in blobs if n.startswith("data_batch")))
  test = images_labels(["test_batch"])
  class_names = _unpickle(blobs["batches.meta"])["label_names"]
  return train, test, class_names


def read(data_dir, validation_fraction: float = 0.1) -> examples.Splits:
  """CIFAR-10 from `<data_dir>/cifar10/`, as `Splits`."""
  directory = data_dir_lib.require(data_dir, NAME, hint=f"put {ARCHIVE} in it "
                                   f"(`{datasets.fetch_command(NAME)}`)")
  train, test, class_names = read_batches(directory)
  published = sorted(datasets.get(NAME).md5.values())
  return examples.official(train, test, class_names, validation_fraction,
                           fingerprint.of(NAME, *published))
