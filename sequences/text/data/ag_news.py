"""AG News (Zhang, Zhao & LeCun 2015): news title + description -> one of four topics.

The file is the original CSV (`"class","title","description"`, classes 1..4, no header) under
`<data_dir>/ag_news/`, verified against its sha256 in `common.data.datasets` (the registry;
PROVENANCE.md records where it came from) before use. The four class names are those of the
dataset's `classes.txt` and readme; they are fixed by the dataset, so they are written here rather
than read from a second file (the mirror the registry fetches from has an unrelated classes.txt). ../shared/data holds only the official 7,600-row *test* file, so every
figure in this package is a split of it, not the official 120k/7.6k protocol.

The original text escapes some characters (`\\$`, `#39;`); it is left as it is, as the published
baselines read it.
"""

from __future__ import annotations

import numpy as np

from common.data import csv_reader, datasets, fingerprint
from sequences.text.data import dataset

NAME = "ag_news"
# Class 1..4 in the CSV, in the order of the dataset's classes.txt.
CLASS_NAMES = ("World", "Sports", "Business", "Sci/Tech")


def read(data_dir: str, split_file: str = "test.csv") -> dataset.TextDataset:
  """AG News's `split_file` from `data_dir/ag_news/` (text = title + " " + description).

  Raises:
    DataNotFoundError: the files are missing (says where to put them and how to fetch them).
    ChecksumError: a file differs from the registry's sha256 (a modified or different copy).
  """
  path = datasets.require(data_dir, NAME, split_file)
  class_names = list(CLASS_NAMES)
  texts, labels = [], []
  for line, (label, title, description) in enumerate(csv_reader.iter_rows(path, 3), start=1):
    if not label.isdigit() or not 1 <= int(label) <= len(class_names):
      raise dataset.TextFormatError(f"{path}:{line}: class {label!r} is not in "
                                    f"1..{len(class_names)}")
    texts.append(dataset.check_text(f"{title} {description}", f"{path}:{line}"))
    labels.append(int(label) - 1)
  # The file was just verified against its published checksum, which therefore names its content.
  return dataset.TextDataset(
      f"{NAME}/{split_file}", texts, np.array(labels, np.int32), list(texts), class_names,
      fingerprint.of(NAME, split_file, datasets.get(NAME).files[split_file]))
