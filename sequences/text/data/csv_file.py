"""A CSV with a header row: the text column(s) and the label column named by the caller.

This is how most public sets are shared (SST, Yelp, IMDB dumps): `text_column="title,description"`
joins several columns with a space, `label_column` holds names or numbers (both are treated as
names; class ids follow their sorted order), and an optional `id_column` is the split key (default:
the text, so identical texts share a split). A missing column, a row with the wrong field count,
an empty text or label is an error naming `file:line` and the flag that fixes it.
"""

from __future__ import annotations

import csv
import io

import tensorflow as tf

from common.data import fingerprint
from sequences.text.data import dataset

NAME = "csv"


def read(path: str, text_column: str = "text", label_column: str = "label",
         encoding: str = "utf-8", id_column: str = "") -> dataset.TextDataset:
  """The labelled rows of the CSV file at `path` (local or gs://).

  Args:
    path: the file.
    text_column: the text column, or several joined by commas ("title,description"), whose
      values are joined with a space.
    label_column: the label column.
    encoding: the file's text encoding.
    id_column: an optional record-id column used as the split key (default: the text).
  """
  path = str(path)
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f"CSV file {path} does not exist")
  content, raw = dataset.decode(path, encoding)
  reader = csv.reader(io.StringIO(content, newline=""))
  header = next(reader, None)
  if not header:
    raise dataset.TextFormatError(f"{path}:1: the file is empty; a header row naming the text "
                                  "and label columns is expected")
  text_columns = [c.strip() for c in text_column.split(",") if c.strip()]
  wanted = text_columns + [label_column] + ([id_column] if id_column else [])
  missing = [c for c in wanted if c not in header]
  if missing:
    raise dataset.TextFormatError(
        f"{path}:1: header {header} has no column(s) {missing}; name the right ones with "
        "--config.data.text_column / --config.data.label_column (bench: --text_column / "
        "--label_column)")
  col = {name: header.index(name) for name in wanted}
  texts, names, keys = [], [], []
  for row in reader:
    where = f"{path}:{reader.line_num}"
    if not row:
      continue
    if len(row) != len(header):
      raise dataset.TextFormatError(f"{where}: {len(row)} fields, the header has {len(header)}; "
                                    "quote fields that contain a comma, or fix the row")
    text = " ".join(row[col[c]] for c in text_columns)
    texts.append(dataset.check_text(text, where, "remove the row or fill in its text"))
    label = row[col[label_column]].strip()
    if not label:
      raise dataset.TextFormatError(f"{where}: empty label in column {label_column!r}; label "
                                    "the row or remove it")
    names.append(label)
    keys.append(row[col[id_column]] if id_column else text)
  if not texts:
    raise dataset.TextFormatError(f"{path}: a header and no rows; add labelled rows")
  name = dataset.base_name(path)
  return dataset.from_label_names(name, texts, names, keys, fingerprint.of(NAME, name, raw),
                                  min_classes=2)
