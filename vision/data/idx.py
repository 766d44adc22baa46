"""MNIST-format idx files: the official MNIST / Fashion-MNIST sets, or one images/labels pair.

* `read(data_dir, "mnist" | "fashion_mnist")`: the four official gzipped files under
  `<data_dir>/<name>/`, each checked against the sha256 TensorFlow Datasets publishes (kept in
  `common/data/datasets.py`); the official train/test split, validation hashed out of train.
* `read_pair(images, labels)`: ONE images/labels pair (e.g. only MNIST's `t10k-*`, or a user's own
  set in the format), hash-split into train/validation/test by record index.

Files are read through `common.data.idx` (local paths or gs://).
"""

import os
from collections.abc import Sequence

import numpy as np

from common.data import data_dir as data_dir_lib
from common.data import datasets, fingerprint
from common.data import idx as idx_format
from vision.data import examples, png

CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion_mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot"],
}
FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def read_official(directory, name: str = "mnist"):
  """Reads `<directory>/{train,t10k}-{images,labels}-idx*-ubyte.gz` after checking their sha256s.

  Args:
    directory: the folder holding the four `.gz` files (local or any tf.io.gfile location).
    name: "mnist" or "fashion_mnist": the registry entry whose published checksums apply.

  Returns:
    ((train_images, train_labels), (test_images, test_labels)) as uint8 arrays.

  Raises:
    ValueError: an unknown `name`.
    FileNotFoundError: a file is missing (says which, where, and its checksum).
    common.data.download.ChecksumError: a file is not the published one.
  """
  if name not in CLASS_NAMES:
    raise ValueError(f"unknown idx dataset {name!r}; use one of {sorted(CLASS_NAMES)}")
  directory = os.fspath(directory)
  arrays = {}
  for filename in FILES:
    path = os.path.join(directory, filename)
    try:
      datasets.verify(name, filename, path)
    except FileNotFoundError as e:
      raise FileNotFoundError(
          f"{path} is missing: place the official {name} file {filename} there "
          f"(`{datasets.fetch_command(name)}`, or from {datasets.get(name).homepage}; "
          f"sha256 {datasets.checksum(name, filename)[1]})") from e
    arrays[filename] = idx_format.read_idx(path)
  train = (arrays[FILES[0]], arrays[FILES[1]])
  test = (arrays[FILES[2]], arrays[FILES[3]])
  for what, (images, labels) in (("train", train), ("t10k", test)):
    if len(images) != len(labels):
      raise ValueError(f"{directory}: {what} has {len(images)} images but {len(labels)} labels")
  return train, test


def read(data_dir, name: str, validation_fraction: float = 0.1) -> examples.Splits:
  """The official `name` set from `<data_dir>/<name>/`, as `Splits`."""
  directory = data_dir_lib.require(data_dir, name, hint=f"put the four {name} idx .gz files in it "
                                   f"(`{datasets.fetch_command(name)}`)")
  train, test = read_official(directory, name)
  published = sorted(datasets.get(name).files.values())
  return examples.official(train, test, CLASS_NAMES[name], validation_fraction,
                           fingerprint.of(name, *published))


def read_pair(images_path, labels_path, fractions=(0.8, 0.1, 0.1),
              class_names: Sequence[str] | None = None) -> examples.Splits:
  """ONE idx images/labels pair, hash-split into train/validation/test by record index.

  For a user holding a single labelled set in MNIST's format (or only MNIST's t10k files).
  Classes are named by `class_names` (label i is `class_names[i]`) or "0".."K-1".

  Raises:
    FileNotFoundError / common.data.idx.IdxFormatError: naming the file (and record) and the fix
      (`common.data.idx.read_pair`); a label with no name in `class_names`.
  """
  images, labels = idx_format.read_pair(images_path, labels_path)
  num_classes = int(labels.max()) + 1 if len(labels) else 0
  if class_names:
    if num_classes > len(class_names):
      record = int(np.argmax(labels >= len(class_names)))
      raise idx_format.IdxFormatError(
          f"{labels_path}: record {record} has label {int(labels[record])} but data.class_names "
          f"names {len(class_names)} classes; add the missing names or fix the labels")
  else:
    class_names = [str(i) for i in range(num_classes)]
  if images.ndim == 4 and images.shape[-1] == 1:
    images = images[..., 0]
  keys = [f"idx-{i}" for i in range(len(labels))]
  return examples.from_arrays(keys, png.encode_all(images), labels, class_names, fractions,
                              fingerprint=fingerprint.of("idx", images, labels))
