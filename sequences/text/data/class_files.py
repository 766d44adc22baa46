"""One file per class, one example per non-blank line: a folder holding `pos.txt`, `neg.txt`, ...

The class is the file's stem; when the stems collide, as in Pang & Lee's `rt-polarity.pos` /
`rt-polarity.neg`, the extensions name the classes. Bytes are decoded with the caller's encoding
(the original polarity files are cp1252, whose 0x97 is an em dash); a byte that does not decode is
an error naming the file, the line and `--config.data.encoding`. Local or gs:// (`tf.io.gfile`).
"""

from __future__ import annotations

import tensorflow as tf

from common.data import fingerprint
from sequences.text.data import dataset

NAME = "class_files"


def class_names_of_files(files: list[str]) -> list[str]:
  """Each file's stem ("pos.txt" -> "pos"); if the stems collide, the extensions instead."""
  bases = [dataset.base_name(path) for path in files]
  stems = [base.rsplit(".", 1)[0] for base in bases]
  if len(set(stems)) == len(stems):
    return stems
  suffixes = [base.rsplit(".", 1)[-1] if "." in base else base for base in bases]
  if len(set(suffixes)) == len(suffixes):
    return suffixes  # rt-polarity.pos / rt-polarity.neg
  raise dataset.TextFormatError(f"files {bases} do not have distinct names; name each class file "
                                "by its class (pos.txt, neg.txt)")


def read(directory: str, encoding: str = "utf-8") -> dataset.TextDataset:
  """Every non-blank line of every file in `directory` as one example of the file's class."""
  directory = str(directory).rstrip("/")
  files = sorted(f"{directory}/{name}" for name in tf.io.gfile.listdir(directory)
                 if not tf.io.gfile.isdir(f"{directory}/{name}") and not name.startswith("."))
  if len(files) < 2:
    raise dataset.TextFormatError(f"{directory} holds {len(files)} file(s); one file per class "
                                  "(e.g. pos.txt and neg.txt, one example per line) is expected")
  texts, names = [], []
  fp = fingerprint.Fingerprint(NAME)
  for path, label in zip(files, class_names_of_files(files), strict=True):
    content, raw = dataset.decode(path, encoding)
    fp.update(dataset.base_name(path), raw)
    for line in content.splitlines():
      if line.strip():  # blank lines separate nothing in this layout
        texts.append(line)
        names.append(label)
    if label not in names:
      raise dataset.TextFormatError(f"{path}: no non-blank lines; each class file needs one "
                                    "example a line (or remove the file)")
  return dataset.from_label_names(dataset.base_name(directory), texts, names, list(texts),
                                  str(fp), min_classes=2)
