"""CSV reading that fails loudly: a bad row names its file, line and field counts.

Real CSVs break in boring ways (a stray comma in a title, a truncated last line, a missing
header). `csv.reader` happily returns such rows and the error surfaces far away as a bad
tensor. These readers check every row against the expected shape and point at the line.
"""

import csv
import os
import pathlib
from collections.abc import Iterator, Sequence


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
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"CSV file {path} does not exist")
  with open(path, newline="", encoding=encoding) as f:
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
  with open(path, "w", newline="", encoding="utf-8") as f:
    writer = csv.writer(f, lineterminator="\n")
    if header is not None:
      writer.writerow(header)
    writer.writerows(rows)
