"""CSV reading that fails loudly: a bad row names its file, line and field counts.

Real CSVs break in boring ways (a stray comma in a title, a truncated last line, a missing
header). `csv.reader` happily returns such rows and the error surfaces far away as a bad
tensor. These readers check every row against the expected shape and point at the line.

Paths may be on any file system TensorFlow knows (gs://, ram://, local): a URL is read and
written through `tf.io.gfile`; a plain local path through Python's own files, so TensorFlow-free
tools (the shop world generator) do not pay for importing TensorFlow. `csv_dataset` reads CSV shards into tf.data, each input pipeline of a multi-host
job reading its own files (`common.data.sharding`).
"""

import csv
import io
import os
from collections.abc import Iterator, Sequence

from common.data import files as file_io


class CsvFormatError(ValueError):
  """A CSV file does not have the expected shape; the message has `file:line`."""


def iter_rows(path: str | os.PathLike, num_fields: int, *,
              header: bool | Sequence[str] = False, delimiter: str = ",",
              encoding: str = "utf-8") -> Iterator[list[str]]:
  """Yields the data rows of a CSV file, each with exactly `num_fields` fields.

  Args:
    path: the file.
    num_fields: how many fields every row must have.
    header: False (no header), True (skip the first row, checking its field count), or the
      expected column names (the first row must equal them).
    delimiter: field separator (use "\\t" for TSV).
    encoding: text encoding of the file (MovieLens 100K's u.item is "latin-1").

  Raises:
    FileNotFoundError: the file does not exist.
    CsvFormatError: a row has the wrong number of fields, or the header differs.
  """
  path = os.fspath(path)
  with io.StringIO(_read_bytes(path).decode(encoding), newline="") as f:
    reader = csv.reader(f, delimiter=delimiter)
    first = True
    for row in reader:
      where = f"{path}:{reader.line_num}"
      if not row:  # blank line (e.g. a trailing newline run)
        continue
      if first and header is not False:
        first = False
        if header is not True and list(row) != list(header):
          raise CsvFormatError(
              f"{where}: header is {row}, expected {list(header)}; is this the right file?")
        if len(row) != num_fields:
          raise CsvFormatError(
              f"{where}: header has {len(row)} fields, expected {num_fields}")
        continue
      first = False
      if len(row) != num_fields:
        raise CsvFormatError(
            f"{where}: expected {num_fields} fields, found {len(row)}: {row!r:.200}. "
            "Quote fields that contain the delimiter, or fix the row.")
      yield row


def read_rows(path: str | os.PathLike, num_fields: int, *,
              header: bool | Sequence[str] = False, delimiter: str = ",",
              encoding: str = "utf-8") -> list[list[str]]:
  """Reads all data rows of a CSV file (see `iter_rows` for the arguments and errors)."""
  return list(iter_rows(path, num_fields, header=header, delimiter=delimiter, encoding=encoding))


def read_columns(path: str | os.PathLike, columns: Sequence[str], *,
                 delimiter: str = ",", encoding: str = "utf-8") -> dict[str, list[str]]:
  """Reads a CSV with exactly the header `columns` into one list per column."""
  rows = read_rows(path, len(columns), header=columns, delimiter=delimiter, encoding=encoding)
  return {name: [row[i] for row in rows] for i, name in enumerate(columns)}


def write_rows(path: str | os.PathLike, rows, header: Sequence[str] | None = None) -> None:
  """Writes rows as CSV with "\\n" line endings (byte-for-byte reproducible)."""
  buffer = io.StringIO(newline="")
  writer = csv.writer(buffer, lineterminator="\n")
  if header is not None:
    writer.writerow(header)
  writer.writerows(rows)
  data, path = buffer.getvalue().encode("utf-8"), os.fspath(path)
  file_io.write_bytes(path, data)


def _read_bytes(path: str) -> bytes:
  return file_io.read_bytes(path, f"CSV file {path} does not exist")


def csv_dataset(files: Sequence[str | os.PathLike], record_defaults: Sequence, *,
                header: bool = True, input_context=None):
  """A tf.data dataset of the rows of CSV shards, this input pipeline's share only.

  Args:
    files: the shards, in a fixed order (e.g. sorted `tf.io.gfile.glob(pattern)`).
    record_defaults: one default per column, which also sets its dtype (as in
      `tf.data.experimental.CsvDataset`), e.g. `[tf.constant([], tf.string), 0.0]`.
    header: every shard starts with a header line to skip.
    input_context: from `strategy.distribute_datasets_from_function`: each input pipeline
      reads its own shards when there are at least as many shards as pipelines, else every
      n-th row (`common.data.sharding`). Pass `shard=False` to `pipeline.build` then.

  Returns:
    A dataset of tuples, one tensor per column.
  """
  import tensorflow as tf  # lazy: the row readers above serve TensorFlow-free tools

  from common.data import sharding  # lazy: it imports TensorFlow (see the line above)

  paths = [os.fspath(p) for p in files]
  if not paths:
    raise FileNotFoundError("csv_dataset got no files; check the glob pattern")
  return sharding.read_files(
      paths, lambda some: tf.data.experimental.CsvDataset(some, list(record_defaults),
                                                          header=header),
      input_context=input_context)
