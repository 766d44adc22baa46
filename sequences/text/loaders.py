"""Text classification datasets in their native formats, as one in-memory `TextDataset`.

Formats read here:
- **AG News** CSV (`"class","title","description"`, classes 1..4, no header) with its
  `classes.txt`; the file's sha256 is verified against PROVENANCE.md before use.
- **MR-polarity** style: two files with one sentence a line, one positive and one negative
  (Pang & Lee's `rt-polarity.pos` / `rt-polarity.neg`).
- **Generic** CSV with a `text,label` header, or JSON Lines with `{"text": ..., "label": ...}`.
- The **shop world**'s `items.csv`: title + description -> category (the demo and the tests).

Each record gets a stable `key` (an id column where the format has one, else the text itself), from
which `input_pipeline` derives repeatable hash splits; identical texts share a key and therefore a
split, so duplicates cannot leak between train and test.

Empty texts are an error naming `file:line`: the exported model rejects empty input, so training
on it would teach the model something it can never be asked.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os

import numpy as np
import tensorflow as tf

from common.data import csv_reader, download
from common.data import data_dir as data_dir_lib

AG_NEWS_SHA256 = {
    "test.csv": "521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699",
    "classes.txt": "612dbfa932f07a6ed837295a7d5746ce7412e7bb4bc32ba919fdb3cda3a1b9b5",
}
AG_NEWS_HINT = ("AG News (Zhang et al. 2015) from its homepage or any mirror of ag_news_csv; "
                "see ../shared/data/ag_news/PROVENANCE.md for the checked files")
SHOPWORLD_COLUMNS = ("item_id", "title", "description", "category", "price", "image_path")


@dataclasses.dataclass(frozen=True)
class TextDataset:
  """Texts with integer labels.

  Attributes:
    name: where it came from (e.g. "ag_news/test.csv").
    texts: the raw strings a client would send.
    labels: int32 class ids in [0, len(class_names)).
    keys: stable record keys for hash splits.
    class_names: label names, index = class id.
    fingerprint: sha256 over the source files, recorded in export metadata.
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


def _sha256(*paths: str | os.PathLike) -> str:
  digest = hashlib.sha256()
  for path in paths:
    digest.update(_read_bytes(path))
  return digest.hexdigest()


def _require_file(path: str | os.PathLike, what: str) -> str:
  """`path` as a string (a user's path may be gs://); FileNotFoundError if it is not a file."""
  path = os.fspath(path)
  if not tf.io.gfile.exists(path) or tf.io.gfile.isdir(path):
    raise FileNotFoundError(f"{what} {path} does not exist")
  return path


def _read_bytes(path: str | os.PathLike) -> bytes:
  with tf.io.gfile.GFile(os.fspath(path), "rb") as f:
    return f.read()


def _check_text(text: str, where: str) -> str:
  if not text.strip():
    raise ValueError(f"{where}: empty text; remove the row or fill it in (the model rejects "
                     "empty input, so it cannot be trained on it)")
  return text


def _labels_from_names(names: list[str]) -> tuple[np.ndarray, list[str]]:
  classes = sorted(set(names))
  index = {name: i for i, name in enumerate(classes)}
  return np.array([index[n] for n in names], dtype=np.int32), classes


def ag_news(data_dir: str | os.PathLike, split_file: str = "test.csv") -> TextDataset:
  """AG News from `data_dir/ag_news/` (text = title + " " + description, 4 topics).

  The original files escape some characters (`\\$`, `#39;`); they are left as they are, as the
  published baselines read them.

  Raises:
    DataNotFoundError: the files are missing (says where to put them).
    ValueError: a checksum differs from PROVENANCE.md (a modified or different copy).
  """
  path = data_dir_lib.require(data_dir, f"ag_news/{split_file}", hint=AG_NEWS_HINT)
  classes_path = data_dir_lib.require(data_dir, "ag_news/classes.txt", hint=AG_NEWS_HINT)
  for p in (path, classes_path):
    if p.name in AG_NEWS_SHA256:
      download.verify_sha256(p, AG_NEWS_SHA256[p.name])
  class_names = _read_bytes(classes_path).decode("utf-8").split()
  texts, labels = [], []
  for line, (label, title, description) in enumerate(csv_reader.iter_rows(path, 3), start=1):
    if not label.isdigit() or not 1 <= int(label) <= len(class_names):
      raise ValueError(f"{path}:{line}: class {label!r} is not in 1..{len(class_names)}")
    texts.append(_check_text(f"{title} {description}", f"{path}:{line}"))
    labels.append(int(label) - 1)
  return TextDataset(f"ag_news/{split_file}", texts, np.array(labels, np.int32), list(texts),
                     class_names, _sha256(path))


def polarity(pos_path: str | os.PathLike, neg_path: str | os.PathLike,
             encoding: str = "utf-8") -> TextDataset:
  """MR-polarity style files: one sentence a line; class 0 = "neg", 1 = "pos".

  Pang & Lee's original rt-polarity files are Windows-1252; pass encoding="cp1252" for them.
  """
  texts, labels = [], []
  paths = [_require_file(neg_path, "polarity file"), _require_file(pos_path, "polarity file")]
  for label, path in enumerate(paths):
    try:
      lines = _read_bytes(path).decode(encoding).splitlines()
    except UnicodeDecodeError as e:
      raise ValueError(f"{path} is not {encoding} ({e}); pass the file's encoding, e.g. "
                       "encoding='cp1252' for the original rt-polarity files") from e
    for sentence in lines:
      if sentence.strip():  # blank lines separate nothing in this format; skip them
        texts.append(sentence)
        labels.append(label)
  return TextDataset(f"polarity/{os.path.basename(paths[1])}", texts, np.array(labels, np.int32), list(texts),
                     ["neg", "pos"], _sha256(*paths))


def csv_file(path: str | os.PathLike) -> TextDataset:
  """A CSV with a header containing `text` and `label` (and optionally `id`) columns.

  Labels are names (or numbers as strings); class ids follow their sorted order.
  """
  path = _require_file(path, "CSV file")
  header = next(csv.reader(io.StringIO(_read_bytes(path).decode("utf-8"), newline="")), None)
  if not header:
    raise ValueError(f"{path} is empty; a `text,label` header and rows are expected")
  missing = {"text", "label"} - set(header)
  if missing:
    raise ValueError(f"{path}: header {header} lacks {sorted(missing)}; the generic CSV format is "
                     "`text,label` (optionally `id`)")
  rows = csv_reader.read_rows(path, num_fields=len(header), header=header)
  col = {name: header.index(name) for name in header}
  texts = [_check_text(r[col["text"]], f"{path}:{i + 2}") for i, r in enumerate(rows)]
  keys = [r[col["id"]] for r in rows] if "id" in col else list(texts)
  labels, classes = _labels_from_names([r[col["label"]] for r in rows])
  return TextDataset(os.path.basename(path), texts, labels, keys, classes, _sha256(path))


def jsonl_file(path: str | os.PathLike) -> TextDataset:
  """JSON Lines: one object a line with "text" and "label" (and optionally "id")."""
  path = _require_file(path, "JSONL file")
  texts, names, keys = [], [], []
  with tf.io.gfile.GFile(path, "rb") as f:
    for line_no, raw in enumerate(f, start=1):
      line = raw.decode("utf-8")
      if not line.strip():
        continue
      where = f"{path}:{line_no}"
      try:
        record = json.loads(line)
      except json.JSONDecodeError as e:
        raise ValueError(f"{where}: not valid JSON ({e.msg}); one object a line is expected") from e
      if not isinstance(record, dict) or "text" not in record or "label" not in record:
        raise ValueError(f"{where}: expected an object with \"text\" and \"label\", got "
                         f"{line.strip()[:120]}")
      if not isinstance(record["text"], str):
        raise ValueError(f"{where}: \"text\" must be a string, got {type(record['text']).__name__}")
      texts.append(_check_text(record["text"], where))
      names.append(str(record["label"]))
      keys.append(str(record.get("id", record["text"])))
  labels, classes = _labels_from_names(names)
  return TextDataset(os.path.basename(path), texts, labels, keys, classes, _sha256(path))


def shopworld_items(world_dir: str | os.PathLike) -> TextDataset:
  """The shop world's items: "title. description" -> category (key = item_id)."""
  path = os.path.join(os.fspath(world_dir), "items.csv")
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(
        f"{path} does not exist; write a shop world first: "
        "`shopworld.generate(seed=0).write('{world_dir}')`")
  cols = csv_reader.read_columns(path, SHOPWORLD_COLUMNS)
  texts = [_check_text(f"{t}. {d}", f"{path}:{i + 2}")
           for i, (t, d) in enumerate(zip(cols["title"], cols["description"], strict=True))]
  labels, classes = _labels_from_names(cols["category"])
  return TextDataset("shopworld/items.csv", texts, labels, cols["item_id"], classes, _sha256(path))


def load(source: str, data_dir: str | os.PathLike | None = None, path: str = "",
         **kwargs) -> TextDataset:
  """Dispatches on a config's `data.source`: ag_news | polarity | csv | jsonl | shopworld.

  Args:
    source: the format.
    data_dir: the real-data directory (ag_news).
    path: the file (csv, jsonl), the world directory (shopworld) or "pos_file,neg_file" (polarity).
    **kwargs: passed to the loader (e.g. encoding for polarity).
  """
  if source == "ag_news":
    return ag_news(data_dir_lib.resolve(data_dir), **kwargs)
  if source == "shopworld":
    return shopworld_items(path)
  if source == "csv":
    return csv_file(path)
  if source == "jsonl":
    return jsonl_file(path)
  if source == "polarity":
    parts = path.split(",")
    if len(parts) != 2:
      raise ValueError(f"data.path={path!r}: polarity needs 'pos_file,neg_file'")
    return polarity(*parts, **kwargs)
  raise ValueError(f"data.source={source!r} is not one of ag_news, polarity, csv, jsonl, "
                   "shopworld")
