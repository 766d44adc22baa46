"""A user's own labelled text in the field's usual layouts, read through `tf.io.gfile`.

Three layouts cover almost every public text-classification set:

- **CSV** with a header: the text column(s) and the label column are named by the caller
  (`text_column="title,description"` joins several with a space), e.g. SST, Yelp, IMDB dumps.
- **One file per class** (`class_files`): a folder holding `pos.txt`, `neg.txt`, ...; every
  non-blank line is one example and the class is the file's stem (when the stems collide, as
  in Pang & Lee's `rt-polarity.pos` / `rt-polarity.neg`, the extensions name the classes).
- **One folder per class** (`class_folders`): `train/pos/0001.txt`, ...; each file is one example
  and the class is the folder's name (the aclImdb / 20 Newsgroups layout).

`detect(path)` picks the layout from what is there. Every location may be `gs://`: files are
listed and read with `tf.io.gfile`, never `open`. Bytes are decoded with the caller's `encoding`
(e.g. "cp1252" for the original polarity files, whose 0x97 is an em dash); a byte that does not
decode is an error naming the file, the line and the `--config.data.encoding` fix.
"""

from __future__ import annotations

import csv
import hashlib
import io

import numpy as np
import tensorflow as tf

from sequences.text import loaders

ENCODING_HINT = ("pass the file's encoding, e.g. --config.data.encoding=cp1252 (or the bench's "
                 "--encoding=cp1252) for Windows-1252 text")
LAYOUTS = ("csv", "class_files", "class_folders")


class TextFormatError(ValueError):
  """A text dataset file is malformed; the message names the file, the line and the fix."""


def _read(path: str, encoding: str) -> tuple[str, bytes]:
  """(decoded text, raw bytes) of `path`; an undecodable byte names its line."""
  with tf.io.gfile.GFile(path, "rb") as f:
    raw = f.read()
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


def _check(text: str, where: str, fix: str) -> str:
  if not text.strip():
    raise TextFormatError(f"{where}: empty text; {fix} (the model rejects empty input, so it "
                          "cannot be trained on it)")
  return text


def _dataset(name: str, texts: list[str], names: list[str], keys: list[str],
             digest) -> loaders.TextDataset:
  classes = sorted(set(names))
  if len(classes) < 2:
    raise TextFormatError(f"{name}: found only the class(es) {classes}; a classifier needs at "
                          "least two (check the label column or the folder layout)")
  index = {c: i for i, c in enumerate(classes)}
  labels = np.array([index[n] for n in names], np.int32)
  return loaders.TextDataset(name, texts, labels, keys, classes, digest.hexdigest())


def csv_file(path: str, text_column: str = "text", label_column: str = "label",
             encoding: str = "utf-8", id_column: str = "") -> loaders.TextDataset:
  """A CSV with a header row; class ids follow the sorted label names.

  Args:
    path: the file (local or gs://).
    text_column: the text column, or several joined by commas ("title,description"), whose
      values are joined with a space.
    label_column: the label column (names or numbers; both are treated as names).
    encoding: the file's text encoding.
    id_column: an optional record-id column used as the split key (default: the text).
  """
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f"CSV file {path} does not exist")
  content, raw = _read(path, encoding)
  reader = csv.reader(io.StringIO(content, newline=""))
  header = next(reader, None)
  if not header:
    raise TextFormatError(f"{path}:1: the file is empty; a header row naming the text and label "
                          "columns is expected")
  text_columns = [c.strip() for c in text_column.split(",") if c.strip()]
  wanted = text_columns + [label_column] + ([id_column] if id_column else [])
  missing = [c for c in wanted if c not in header]
  if missing:
    raise TextFormatError(
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
      raise TextFormatError(f"{where}: {len(row)} fields, the header has {len(header)}; quote "
                            "fields that contain a comma, or fix the row")
    text = " ".join(row[col[c]] for c in text_columns)
    texts.append(_check(text, where, "remove the row or fill in its text"))
    label = row[col[label_column]].strip()
    if not label:
      raise TextFormatError(f"{where}: empty label in column {label_column!r}; label the row or "
                            "remove it")
    names.append(label)
    keys.append(row[col[id_column]] if id_column else text)
  if not texts:
    raise TextFormatError(f"{path}: a header and no rows; add labelled rows")
  return _dataset(path.rstrip("/").rsplit("/", 1)[-1], texts, names, keys,
                  hashlib.sha256(raw))


def _class_names_of_files(files: list[str]) -> list[str]:
  """Each file's stem ("pos.txt" -> "pos"); if the stems collide, the extensions instead."""
  bases = [path.rsplit("/", 1)[-1] for path in files]
  stems = [base.rsplit(".", 1)[0] for base in bases]
  if len(set(stems)) == len(stems):
    return stems
  suffixes = [base.rsplit(".", 1)[-1] if "." in base else base for base in bases]
  if len(set(suffixes)) == len(suffixes):
    return suffixes  # rt-polarity.pos / rt-polarity.neg
  raise TextFormatError(f"files {bases} do not have distinct names; name each class file by its "
                        "class (pos.txt, neg.txt)")


def class_files(directory: str, encoding: str = "utf-8") -> loaders.TextDataset:
  """A folder of one file per class, one example per non-blank line; class = file stem."""
  directory = directory.rstrip("/")
  files = sorted(f"{directory}/{name}" for name in tf.io.gfile.listdir(directory)
                 if not tf.io.gfile.isdir(f"{directory}/{name}") and not name.startswith("."))
  if len(files) < 2:
    raise TextFormatError(f"{directory} holds {len(files)} file(s); one file per class (e.g. "
                          "pos.txt and neg.txt, one example per line) is expected")
  texts, names, digest = [], [], hashlib.sha256()
  for path, label in zip(files, _class_names_of_files(files), strict=True):
    content, raw = _read(path, encoding)
    digest.update(raw)
    for line in content.splitlines():
      if line.strip():  # blank lines separate nothing in this layout
        texts.append(line)
        names.append(label)
    if label not in names:
      raise TextFormatError(f"{path}: no non-blank lines; each class file needs one example a "
                            "line (or remove the file)")
  return _dataset(directory.rsplit("/", 1)[-1], texts, names, list(texts), digest)


def class_folders(directory: str, encoding: str = "utf-8") -> loaders.TextDataset:
  """A folder of one sub-folder per class, one example per file; class = sub-folder name.

  The split key of a record is `class/file name`, so a renamed class moves its records.
  """
  directory = directory.rstrip("/")
  classes = sorted(name.rstrip("/") for name in tf.io.gfile.listdir(directory)
                   if tf.io.gfile.isdir(f"{directory}/{name.rstrip('/')}"))
  if len(classes) < 2:
    raise TextFormatError(f"{directory} holds {len(classes)} sub-folder(s); one folder per class "
                          "with one example per file is expected")
  texts, names, keys, digest = [], [], [], hashlib.sha256()
  for label in classes:
    folder = f"{directory}/{label}"
    files = sorted(n for n in tf.io.gfile.listdir(folder)
                   if not n.startswith(".") and not tf.io.gfile.isdir(f"{folder}/{n}"))
    if not files:
      raise TextFormatError(f"{folder}/ is empty; put one example per file in it or remove it")
    for name in files:
      content, raw = _read(f"{folder}/{name}", encoding)
      digest.update(raw)
      texts.append(_check(content.strip(), f"{folder}/{name}:1",
                          "remove the file or write its text"))
      names.append(label)
      keys.append(f"{label}/{name}")
  return _dataset(directory.rsplit("/", 1)[-1], texts, names, keys, digest)


def detect(path: str) -> str:
  """The layout of `path`: "csv" (a file), "class_folders" or "class_files" (a folder)."""
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f"dataset {path} does not exist; pass a CSV file, a folder of "
                            "class files or a folder of class folders")
  if not tf.io.gfile.isdir(path):
    return "csv"
  entries = [n.rstrip("/") for n in tf.io.gfile.listdir(path) if not n.startswith(".")]
  if any(tf.io.gfile.isdir(f"{path.rstrip('/')}/{n}") for n in entries):
    return "class_folders"
  return "class_files"


def read(path: str, layout: str = "", *, encoding: str = "utf-8", text_column: str = "text",
         label_column: str = "label") -> loaders.TextDataset:
  """Reads `path` in `layout` (csv | class_files | class_folders; empty = `detect`)."""
  layout = layout or detect(path)
  if layout == "csv":
    return csv_file(path, text_column, label_column, encoding)
  if layout == "class_files":
    return class_files(path, encoding)
  if layout == "class_folders":
    return class_folders(path, encoding)
  raise ValueError(f"layout {layout!r} is not one of csv, class_files, class_folders")
