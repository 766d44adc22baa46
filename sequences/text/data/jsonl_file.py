"""JSON Lines: one object a line with "text" and "label" (and optionally "id", the split key).

Labels may be names or numbers; both are treated as names and class ids follow their sorted order.
Blank lines are skipped; anything else that is not such an object is an error naming `file:line`.
"""

from __future__ import annotations

import json

from common.data import fingerprint
from sequences.text.data import dataset

NAME = "jsonl"


def read(path: str, encoding: str = "utf-8") -> dataset.TextDataset:
  """The records of the JSON Lines file at `path` (local or gs://)."""
  path = dataset.require_file(str(path), "JSONL file")
  content, raw = dataset.decode(path, encoding)
  texts, names, keys = [], [], []
  for line_no, line in enumerate(content.splitlines(), start=1):
    if not line.strip():
      continue
    where = f"{path}:{line_no}"
    try:
      record = json.loads(line)
    except json.JSONDecodeError as e:
      raise dataset.TextFormatError(f"{where}: not valid JSON ({e.msg}); one object a line is "
                                    "expected") from e
    if not isinstance(record, dict) or "text" not in record or "label" not in record:
      raise dataset.TextFormatError(f"{where}: expected an object with \"text\" and \"label\", "
                                    f"got {line.strip()[:120]}")
    if not isinstance(record["text"], str):
      raise dataset.TextFormatError(f"{where}: \"text\" must be a string, got "
                                    f"{type(record['text']).__name__}")
    texts.append(dataset.check_text(record["text"], where))
    names.append(str(record["label"]))
    keys.append(str(record.get("id", record["text"])))
  return dataset.from_label_names(dataset.base_name(path), texts, names, keys,
                                  fingerprint.of(NAME, dataset.base_name(path), raw))
