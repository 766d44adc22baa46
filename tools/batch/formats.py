"""The three record formats batch jobs read and write: CSV, JSON Lines and TFRecord.

A record is a flat dict of field name → value. Reading is split in two so that a record that
does not parse is not lost: Beam's file sources yield raw lines (CSV, JSON Lines) or raw
serialized `tf.train.Example`s (TFRecord), and `parse` turns one into a dict inside the
pipeline, where a failure becomes a dead letter instead of a crashed job.

    CSV         one record per line; the first line of every file is the header. List values
                are written as JSON text (`[0.1, 0.2]`), so they read back exactly.
    JSON Lines  one JSON object per line; bytes are written as {"b64": "..."} (TF Serving's
                REST convention) and read back from it.
    TFRecord    one `tf.train.Example` per record. A bytes or int64 feature with one value
                reads as a scalar; float features read as lists. Nested lists are written
                flattened with a `<name>/shape` int64 feature beside them.

Lines are read as bytes and decoded as UTF-8 with `surrogateescape`, so a line with invalid
UTF-8 still parses and the field that holds the bad bytes can be refused by the domain that
reads it (see handlers.py), with its key.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable, Mapping

import numpy as np

FORMATS = ("csv", "jsonl", "tfrecord")
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl",
               ".tfrecord": "tfrecord", ".tfrec": "tfrecord", ".tfrecords": "tfrecord"}


class FormatError(ValueError):
  """A whole input or output cannot be read or written in the requested format."""


class RecordError(ValueError):
  """One record does not parse; the message says why (it becomes a dead letter)."""


def infer_format(path: str, given: str = "") -> str:
  """The format named by `given`, else by the path's extension (`*.csv`, `*.jsonl`, `*.tfrecord`)."""
  if given:
    if given not in FORMATS:
      raise FormatError(f"format {given!r} is not one of {', '.join(FORMATS)}")
    return given
  name = path.rstrip("*?").split("/")[-1].lower()
  for ext, fmt in _EXTENSIONS.items():
    if name.endswith(ext) or f"{ext}-" in name:
      return fmt
  raise FormatError(f"cannot tell the format of {path!r} from its name; name it *.csv, *.jsonl "
                    f"or *.tfrecord, or pass --input_format / --output_format ({', '.join(FORMATS)})")


def decode_line(line: bytes) -> str:
  """A raw line as text; invalid UTF-8 bytes survive as surrogates (see `field_bytes`)."""
  return line.decode("utf-8", errors="surrogateescape").rstrip("\r\n")


def field_bytes(value: str) -> bytes:
  """The original bytes of a text field read by `decode_line` (invalid UTF-8 included)."""
  return value.encode("utf-8", errors="surrogateescape")


def parse_csv_line(line: bytes, header: list[str]) -> dict:
  text = decode_line(line)
  try:
    rows = list(csv.reader([text]))
  except csv.Error as e:
    raise RecordError(f"CSV line does not parse: {e}") from None
  if len(rows) != 1 or len(rows[0]) != len(header):
    got = len(rows[0]) if rows else 0
    raise RecordError(f"CSV line has {got} fields, the header has {len(header)} ({','.join(header)})")
  return dict(zip(header, rows[0], strict=True))


def parse_csv_header(first_line: bytes) -> list[str]:
  header = next(csv.reader([decode_line(first_line)]), [])
  if not header or len(set(header)) != len(header):
    raise FormatError(f"CSV header {header!r} is empty or repeats a column name")
  return header


def _unb64(value):
  if isinstance(value, dict) and set(value) == {"b64"}:
    return base64.b64decode(value["b64"])
  if isinstance(value, list):
    return [_unb64(v) for v in value]
  return value


def parse_json_line(line: bytes) -> dict:
  try:
    value = json.loads(decode_line(line))
  except json.JSONDecodeError as e:
    raise RecordError(f"JSON line does not parse: {e}") from None
  if not isinstance(value, dict):
    raise RecordError(f"JSON line is a {type(value).__name__}, not an object")
  return {k: _unb64(v) for k, v in value.items()}


def parse_example(serialized: bytes) -> dict:
  import tensorflow as tf

  example = tf.train.Example()
  try:
    example.ParseFromString(serialized)
  except Exception as e:
    raise RecordError(f"TFRecord record is not a tf.train.Example: {e}") from None
  out = {}
  for name, feature in example.features.feature.items():
    kind = feature.WhichOneof("kind")
    if kind == "bytes_list":
      values = list(feature.bytes_list.value)
    elif kind == "int64_list":
      values = list(feature.int64_list.value)
    elif kind == "float_list":
      out[name] = list(feature.float_list.value)
      continue
    else:
      values = []
    out[name] = values[0] if len(values) == 1 else values
  for name in [n for n in out if n.endswith("/shape")]:
    base = name[:-len("/shape")]
    if base in out:
      shape = out.pop(name)
      out[base] = np.asarray(out[base]).reshape([shape] if isinstance(shape, int) else shape).tolist()
  return out


# -- writing ------------------------------------------------------------------------------------
def _jsonable(value):
  if isinstance(value, bytes):
    return {"b64": base64.b64encode(value).decode("ascii")}
  if isinstance(value, np.ndarray):
    return _jsonable(value.tolist())
  if isinstance(value, (list, tuple)):
    return [_jsonable(v) for v in value]
  if isinstance(value, np.generic):
    return value.item()
  return value


def to_json_line(record: Mapping) -> str:
  return json.dumps({k: _jsonable(v) for k, v in record.items()}, allow_nan=True)


def to_csv_line(record: Mapping, fields: Iterable[str]) -> str:
  buffer = io.StringIO()
  cells = []
  for f in fields:
    value = _jsonable(record.get(f, ""))
    cells.append(json.dumps(value) if isinstance(value, (list, dict)) else value)
  csv.writer(buffer, lineterminator="").writerow(cells)
  return buffer.getvalue()


def to_example(record: Mapping) -> bytes:
  import tensorflow as tf

  features = {}
  for name, value in record.items():
    if isinstance(value, (bytes, str)) or (isinstance(value, (list, tuple)) and value
                                           and all(isinstance(v, (bytes, str)) for v in value)):
      # Not through numpy: a bytes array drops trailing NUL bytes, which binary data has.
      flat = [v if isinstance(v, bytes) else v.encode("utf-8", "surrogateescape")
              for v in ([value] if isinstance(value, (bytes, str)) else value)]
      features[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=flat))
      continue
    array = np.asarray(value)
    if array.dtype.kind in "SUO":
      flat = [v if isinstance(v, bytes) else str(v).encode("utf-8", "surrogateescape")
              for v in array.reshape(-1).tolist()]
      features[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=flat))
    elif array.dtype.kind in "iub":
      features[name] = tf.train.Feature(
          int64_list=tf.train.Int64List(value=array.reshape(-1).astype(np.int64).tolist()))
    else:
      features[name] = tf.train.Feature(
          float_list=tf.train.FloatList(value=array.reshape(-1).astype(np.float32).tolist()))
    if array.ndim > 1:
      features[f"{name}/shape"] = tf.train.Feature(
          int64_list=tf.train.Int64List(value=list(array.shape)))
  return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def read_files(pattern: str, fmt: str = "") -> list[dict]:
  """Every record of the files matching `pattern`, parsed (for tests and small outputs)."""
  import tensorflow as tf

  records = []
  for path in sorted(tf.io.gfile.glob(pattern)):
    kind = infer_format(path, fmt)
    if kind == "tfrecord":
      records += [parse_example(r.numpy()) for r in tf.data.TFRecordDataset(path)]
      continue
    with tf.io.gfile.GFile(path, "rb") as f:
      lines = f.read().splitlines()
    if kind == "csv" and lines:
      header = parse_csv_header(lines[0])
      records += [parse_csv_line(line, header) for line in lines[1:]]
    elif kind == "jsonl":
      records += [parse_json_line(line) for line in lines if line.strip()]
  return records
