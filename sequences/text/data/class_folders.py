"""One folder per class, one example per file: `train/pos/0001.txt`, ... (aclImdb, 20 Newsgroups).

The class is the sub-folder's name; the split key of a record is `class/file name`, so a renamed
class moves its records. Folders are listed and files read with `tf.io.gfile` (local or gs://).
"""

from __future__ import annotations

import tensorflow as tf

from common.data import fingerprint
from sequences.text.data import dataset

NAME = "class_folders"


def read(directory: str, encoding: str = "utf-8") -> dataset.TextDataset:
  """Every file under `directory/<class>/` as one example of `<class>`."""
  directory = str(directory).rstrip("/")
  classes = sorted(name.rstrip("/") for name in tf.io.gfile.listdir(directory)
                   if tf.io.gfile.isdir(f"{directory}/{name.rstrip('/')}"))
  if len(classes) < 2:
    raise dataset.TextFormatError(f"{directory} holds {len(classes)} sub-folder(s); one folder "
                                  "per class with one example per file is expected")
  texts, names, keys = [], [], []
  fp = fingerprint.Fingerprint(NAME)
  for label in classes:
    folder = f"{directory}/{label}"
    files = sorted(n for n in tf.io.gfile.listdir(folder)
                   if not n.startswith(".") and not tf.io.gfile.isdir(f"{folder}/{n}"))
    if not files:
      raise dataset.TextFormatError(f"{folder}/ is empty; put one example per file in it or "
                                    "remove it")
    for name in files:
      content, raw = dataset.decode(f"{folder}/{name}", encoding)
      fp.update(f"{label}/{name}", raw)
      texts.append(dataset.check_text(content.strip(), f"{folder}/{name}:1",
                                      "remove the file or write its text"))
      names.append(label)
      keys.append(f"{label}/{name}")
  return dataset.from_label_names(dataset.base_name(directory), texts, names, keys, str(fp),
                                  min_classes=2)
