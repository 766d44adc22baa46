"""Generic series CSVs: good files parse, bad ones fail naming file, line and fix."""

import numpy as np
import pytest

from common.data import fingerprint
from sequences.timeseries.data import csv_file


def _write(path, text):
  path.write_text(text)
  return path


def test_generic_csv(tmp_path):
  p = _write(tmp_path / "load.csv",
             "timestamp,a,b\n2020-01-01 00:00:00,1,2.5\n2020-01-01 01:00:00,3,-4\n")
  s = csv_file.load(p)
  assert s.name == "load" and s.columns == ("a", "b")
  np.testing.assert_array_equal(s.values, [[1, 2.5], [3, -4]])
  assert s.timestamps[1] - s.timestamps[0] == np.timedelta64(1, "h")
  # The fingerprint is common.data.fingerprint's over the names and values: other values, another one.
  assert s.fingerprint == fingerprint.of("csv", ("a", "b"), s.values)
  other = csv_file.load(_write(tmp_path / "other.csv",
                               "timestamp,a,b\n2020-01-01 00:00:00,1,2.5\n2020-01-01 01:00:00,3,-5\n"))
  assert other.fingerprint != s.fingerprint


@pytest.mark.parametrize("body,message", [
    ("2020-01-01,1,x\n", r"load.csv:2: column 'b' holds 'x', not a number"),
    ("2020-01-01,1,nan\n", r"load.csv:2: column 'b' is nan"),
    ("2020-01-02,1,2\n2020-01-01,1,2\n", r"load.csv:3: timestamp '2020-01-01' is not after"),
    ("yesterday,1,2\n", r"load.csv:2: timestamp 'yesterday' is not an ISO date"),
    ("", "no data rows"),
])
def test_bad_rows_name_file_line_and_fix(tmp_path, body, message):
  p = _write(tmp_path / "load.csv", "timestamp,a,b\n" + body)
  with pytest.raises(ValueError, match=message):
    csv_file.load(p)


def test_wrong_field_count_and_missing_file(tmp_path):
  p = _write(tmp_path / "load.csv", "timestamp,a,b\n2020-01-01,1\n")
  with pytest.raises(ValueError, match=r"load\.csv:2"):
    csv_file.load(p)
  with pytest.raises(FileNotFoundError, match="timestamp,col1,col2"):
    csv_file.load(tmp_path / "absent.csv")
  with pytest.raises(ValueError, match="no value columns"):
    csv_file.load(_write(tmp_path / "one.csv", "timestamp\n2020-01-01\n"))


def test_a_missing_file_on_a_non_local_file_system():
  with pytest.raises(FileNotFoundError, match=r"ram://csv_file_test/absent\.csv does not exist"):
    csv_file.load("ram://csv_file_test/absent.csv")
