"""MR-polarity style data (Pang & Lee 2005): two files of one sentence a line, negative and positive.

Pang & Lee's original `rt-polarity.pos` / `rt-polarity.neg` are Windows-1252: pass
encoding="cp1252" (`--config.data.encoding=cp1252`) for them. Blank lines separate nothing in this
format and are skipped. Class 0 is "neg", 1 is "pos"; the key of a record is its text.
"""

from __future__ import annotations

import numpy as np

from common.data import fingerprint
from sequences.text.data import dataset

NAME = "polarity"


def read(pos_path: str, neg_path: str, encoding: str = "utf-8") -> dataset.TextDataset:
  """The sentences of `neg_path` (class 0) and `pos_path` (class 1); paths may be gs://."""
  paths = [dataset.require_file(str(neg_path), "polarity file"),
           dataset.require_file(str(pos_path), "polarity file")]
  texts, labels = [], []
  fp = fingerprint.Fingerprint(NAME)
  for label, path in enumerate(paths):
    content, raw = dataset.decode(path, encoding)
    fp.update(dataset.base_name(path), raw)
    for sentence in content.splitlines():
      if sentence.strip():
        texts.append(sentence)
        labels.append(label)
  return dataset.TextDataset(f"{NAME}/{dataset.base_name(paths[1])}", texts,
                             np.array(labels, np.int32), list(texts), ["neg", "pos"], str(fp))
