"""csv_reader: rows come back as written; a bad row's error names file, line and counts."""

import pytest

from common.data import csv_reader


def test_round_trip_with_quoted_commas_and_header(tmp_path):
  path = tmp_path / "items.csv"
  rows = [["1", "red, blue mug", "3.50"], ["2", 'say "hi"', "1"]]
  csv_reader.write_rows(path, rows, header=["id", "title", "price"])
  assert csv_reader.read_rows(path, 3, header=True) == rows
  assert csv_reader.read_rows(path, 3, header=["id", "title", "price"]) == rows
  assert csv_reader.read_columns(path, ["id", "title", "price"])["title"] == ["red, blue mug", 'say "hi"']


def test_wrong_field_count_names_file_line_and_counts(tmp_path):
  path = tmp_path / "bad.csv"
  path.write_text("a,b,c\n1,2,3\n4,5\n6,7,8\n")
  with pytest.raises(csv_reader.CsvFormatError) as e:
    csv_reader.read_rows(path, 3, header=True)
  message = str(e.value)
  assert f"{path}:3" in message
  assert "expected 3 fields, found 2" in message


def test_line_number_counts_multiline_quoted_fields(tmp_path):
  path = tmp_path / "multi.csv"
  path.write_text('1,"two\nlines",x\n2,y\n')
  with pytest.raises(csv_reader.CsvFormatError, match=r"multi.csv:3: expected 3 fields, found 2"):
    csv_reader.read_rows(path, 3)


def test_unexpected_header_is_named(tmp_path):
  path = tmp_path / "h.csv"
  path.write_text("user,item\n1,2\n")
  with pytest.raises(csv_reader.CsvFormatError, match=r"h.csv:1: header is \['user', 'item'\]"):
    csv_reader.read_rows(path, 2, header=["user_id", "item_id"])


def test_tsv_blank_lines_and_missing_file(tmp_path):
  path = tmp_path / "u.data"
  path.write_text("1\t2\t5\t881250949\n\n3\t4\t1\t881250950\n")
  assert csv_reader.read_rows(path, 4, delimiter="\t") == [
      ["1", "2", "5", "881250949"], ["3", "4", "1", "881250950"]]
  with pytest.raises(FileNotFoundError, match="does not exist"):
    csv_reader.read_rows(tmp_path / "missing.csv", 2)
