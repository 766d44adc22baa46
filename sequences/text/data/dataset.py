"""`TextDataset`, what every text source reads into, and the checks every source shares.

A `TextDataset` is texts with integer labels in memory: text-classification sets are small
enough (AG News's test file is 1.9 MB) that tokenising them once per split is cheaper than a
streaming pipeline. Each record has a stable `key` (an id column where the format has one, else
the text itself), from which `input_pipeline` derives repeatable hash splits; identical texts
share a key and therefore a split, so duplicates cannot leak between train and test.

Empty texts are an error naming `file:line`: the exported model rejects empty input, so training
on it would teach the model something it can never be asked.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

ENCODING_HINT = ("pass the file's encoding, e.g. --config.data.encoding=cp1252 (or the bench's "
                 "--encoding=cp1252) for Windows-1252 text")


class TextFormatError(ValueError):
  """A text dataset file is malformed; the message names the file, the line and the fix."""


@dataclasses.dataclass(frozen=True)
class TextDataset:
  """Texts with integer labels.

  Attributes:
    name: where it came from (e.g. "ag_news/test.csv").
    texts: the raw strings a client would send.
    labels: int32 class ids in [0, len(class_names)).
    keys: stable record keys for hash splits.
    class_names: label names, index = class id.
    fingerprint: `common.data.fingerprint` of the source files, recorded in export metadata.
  """
  name: str
  texts: list[str]
  labels: np.ndarray
  keys: list[str]
  class_names: list[str]
  fingerprint: str

  def __post_init__(self):
    if not (len(self.texts) == len(self.labels) == len(self.keys)):
      raise ValueError(f"{self.name}: {len(self.texts)} texts, {len(self.labels)} labels and "
                       f"{len(self.keys)} keys; they must be the same length")
    if len(self.texts) == 0:
      raise ValueError(f"{self.name} has no records; check the file is not empty")

  @property
  def num_classes(self) -> int:
    return len(self.class_names)

  def subset(self, indices) -> TextDataset:
    indices = np.asarray(indices, dtype=np.int64)
    return dataclasses.replace(
        self, texts=[self.texts[i] for i in indices], labels=self.labels[indices],
        keys=[self.keys[i] for i in indices])


def from_label_names(name: str, texts: list[str], label_names: list[str], keys: list[str],
                     fingerprint: str, *, min_classes: int = 1) -> TextDataset:
  """A `TextDataset` whose class ids follow the sorted label names.

  Args:
    min_classes: fewer distinct labels than this is an error (a user's own data needs two: a
      classifier of one class has learnt nothing).
  """
  classes = sorted(set(label_names))
  if len(classes) < min_classes:
    raise TextFormatError(f"{name}: found only the class(es) {classes}; a classifier needs at "
                          "least two (check the label column or the folder layout)")
  index = {c: i for i, c in enumerate(classes)}
  labels = np.array([index[n] for n in label_names], np.int32)
  return TextDataset(name, texts, labels, keys, classes, fingerprint)


def check_text(text: str, where: str, fix: str = "remove the row or fill it in") -> str:
  """`text`, or an error naming `where` if it is empty or whitespace only."""
  if not text.strip():
    raise TextFormatError(f"{where}: empty text; {fix} (the model rejects empty input, so it "
                          "cannot be trained on it)")
  return text


def require_file(path: str, what: str) -> str:
  """`path` (may be gs://); FileNotFoundError naming `what` if it is not a file."""
  if not tf.io.gfile.exists(path) or tf.io.gfile.isdir(path):
    raise FileNotFoundError(f"{what} {path} does not exist")
  return path


def read_bytes(path: str) -> bytes:
  with tf.io.gfile.GFile(path, "rb") as f:
    return f.read()


def decode(path: str, encoding: str) -> tuple[str, bytes]:
  """(decoded text, raw bytes) of the file at `path`; an undecodable byte names its line."""
  raw = read_bytes(path)
  try:
    return raw.decode(encoding), raw
  except LookupError as e:
    raise TextFormatError(f"encoding {encoding!r} is not a Python codec name; use e.g. "
                          "utf-8, cp1252 or latin-1") from e
  except UnicodeDecodeError as e:
    line = raw.count(b"\n", 0, e.start) + 1
    raise TextFormatError(
        f"{path}:{line}: byte 0x{raw[e.start]:02x} is not valid {encoding}; {ENCODING_HINT}"
    ) from e


def base_name(path: str) -> str:
  """The last component of a local or gs:// path."""
  return path.rstrip("/").rsplit("/", 1)[-1]
