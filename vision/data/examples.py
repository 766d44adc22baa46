"""`Splits`, what every image source returns, and how in-memory examples become one.

A split yields `(encoded JPEG/PNG bytes: tf.string, label: tf.int64)`: the same raw input the
exported model takes, so training decodes exactly as serving does. Membership is repeatable: a
record's split is a pure function of its key (`common.data.splits.split_of`, a FarmHash), never of
file order or a seed. Sources with an official test split keep it and hash only the validation
share out of the official train split (`official`).
"""

import dataclasses
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from common.data import splits
from vision.data import png


@dataclasses.dataclass
class Splits:
  """One dataset, split. Each split yields `(encoded bytes: tf.string, label: tf.int64)`.

  Attributes:
    train, validation, test: the splits (unbatched).
    class_names: label i is `class_names[i]`.
    train_label_counts: examples per class in train (the majority baseline's input).
    sizes: examples per split (None where unknown without reading the data).
    fingerprint: identifies the exact data (`common.data.fingerprint`; recorded in export metadata).
  """

  train: tf.data.Dataset
  validation: tf.data.Dataset
  test: tf.data.Dataset
  class_names: list[str]
  train_label_counts: np.ndarray
  sizes: dict
  fingerprint: str

  @property
  def num_classes(self) -> int:
    return len(self.class_names)

  @property
  def majority_class(self) -> int:
    return int(np.argmax(self.train_label_counts))


def tensor_dataset(encoded: Sequence[bytes], labels) -> tf.data.Dataset:
  """In-memory `(bytes, int64 label)` pairs as a dataset."""
  return tf.data.Dataset.from_tensor_slices(
      (tf.constant(list(encoded), tf.string), tf.constant(np.asarray(labels), tf.int64)))


def label_counts(labels, num_classes: int) -> np.ndarray:
  return np.bincount(np.asarray(labels, np.int64), minlength=num_classes)


def from_arrays(keys: Sequence[str], encoded: Sequence[bytes], labels, class_names,
                fractions=(0.8, 0.1, 0.1), fingerprint: str = "") -> Splits:
  """Hash-splits in-memory examples by key (`common.data.splits.split_of`)."""
  by_split = {name: ([], []) for name in splits.SPLITS}
  for key, data, label in zip(keys, encoded, labels, strict=True):
    bucket = by_split[splits.split_of(key, fractions)]
    bucket[0].append(data)
    bucket[1].append(int(label))
  return Splits(
      train=tensor_dataset(*by_split["train"]), validation=tensor_dataset(*by_split["validation"]),
      test=tensor_dataset(*by_split["test"]), class_names=list(class_names),
      train_label_counts=label_counts(by_split["train"][1], len(class_names)),
      sizes={name: len(v[1]) for name, v in by_split.items()}, fingerprint=fingerprint)


def official(train, test, class_names, validation_fraction: float, fingerprint: str) -> Splits:
  """Official train/test uint8 image arrays; validation is hashed out of train by index.

  Images are PNG-encoded here, once: a few seconds for 60k images, and afterwards the input
  pipeline caches the decoded pixels.
  """
  (train_x, train_y), (test_x, test_y) = train, test
  keys = [f"train-{i}" for i in range(len(train_y))]
  is_val = np.array([splits.split_of(k, (1 - validation_fraction, validation_fraction, 0.0))
                     == "validation" for k in keys], bool)
  return Splits(
      train=tensor_dataset(png.encode_all(train_x[~is_val]), train_y[~is_val]),
      validation=tensor_dataset(png.encode_all(train_x[is_val]), train_y[is_val]),
      test=tensor_dataset(png.encode_all(test_x), test_y), class_names=list(class_names),
      train_label_counts=label_counts(train_y[~is_val], len(class_names)),
      sizes={"train": int((~is_val).sum()), "validation": int(is_val.sum()), "test": len(test_y)},
      fingerprint=fingerprint)
