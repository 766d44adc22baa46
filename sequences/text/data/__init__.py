"""Text classification data: every source reads into one `TextDataset`, through one `load`.

    from sequences.text import data
    dataset = data.load(config.data, data_dir)     # config.data.source picks the module

One module per source, each with `read(...)`:

| data.source | module | data.path |
|---|---|---|
| `ag_news` | `ag_news.py`: AG News CSV + classes.txt, sha256 from `common.data.datasets` | (from `--data_dir`) |
| `polarity` | `polarity.py`: MR-polarity pos/neg sentence files | `pos_file,neg_file` |
| `jsonl` | `jsonl_file.py`: `{"text", "label"[, "id"]}` a line | the file |
| `shopworld` | `shopworld.py`: the synthetic shop world's items.csv | the world directory |
| `csv` | `csv_file.py`: a header; `data.text_column` / `data.label_column` | the file |
| `class_files` | `class_files.py`: pos.txt, neg.txt, one example a line | the folder |
| `class_folders` | `class_folders.py`: pos/, neg/, one example a file | the folder |

`data.encoding` is the files' text encoding (e.g. cp1252). A new source is a new module here and
a row above; a dataset with published checksums adds them to `common/data/datasets.py`. Every
fingerprint comes from `common.data.fingerprint`. Paths may be gs:// (`tf.io.gfile`).
"""

from __future__ import annotations

import tensorflow as tf

from common.data import data_dir as data_dir_lib
from sequences.text.data import (
  ag_news,
  class_files,
  class_folders,
  csv_file,
  dataset,
  jsonl_file,
  polarity,
  shopworld,
)

TextDataset = dataset.TextDataset
TextFormatError = dataset.TextFormatError
SOURCES = ("ag_news", "polarity", "jsonl", "shopworld", "csv", "class_files", "class_folders")


def load(config, data_dir: str | None = None) -> TextDataset:
  """The dataset `config` (a config's `data` field) describes.

  Args:
    config: `source` (one of SOURCES), `path`, `encoding`, `text_column`, `label_column`.
    data_dir: the real-data directory (ag_news); default `$TRELLIS_DATA_DIR` or ../shared/data.
  """
  source, path = config.source, config.path
  if source not in SOURCES:
    raise ValueError(f"data.source={source!r} is not one of {', '.join(SOURCES)}")
  if source == "ag_news":
    return ag_news.read(str(data_dir_lib.resolve(data_dir)))
  if not path:
    raise ValueError(f"data.source={source} needs --config.data.path=<the file or folder>")
  if source == "polarity":
    parts = path.split(",")
    if len(parts) != 2:
      raise ValueError(f"data.path={path!r}: polarity needs 'pos_file,neg_file'")
    return polarity.read(*parts, encoding=config.encoding)
  if source == "jsonl":
    return jsonl_file.read(path, config.encoding)
  if source == "shopworld":
    return shopworld.read(path)
  if source == "csv":
    return csv_file.read(path, config.text_column, config.label_column, config.encoding)
  if source == "class_files":
    return class_files.read(path, config.encoding)
  return class_folders.read(path, config.encoding)


def detect(path: str) -> str:
  """The layout of a user's `path`: "csv" (a file), "class_folders" or "class_files" (a folder)."""
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f"dataset {path} does not exist; pass a CSV file, a folder of "
                            "class files or a folder of class folders")
  if not tf.io.gfile.isdir(path):
    return "csv"
  entries = [n.rstrip("/") for n in tf.io.gfile.listdir(path) if not n.startswith(".")]
  if any(tf.io.gfile.isdir(f"{path.rstrip('/')}/{n}") for n in entries):
    return "class_folders"
  return "class_files"
