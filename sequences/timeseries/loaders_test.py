"""Series loaders: good files parse, bad ones fail naming file, line and fix; ETT is checksummed."""

import numpy as np
import pytest

from common.data import download
from sequences.timeseries import loaders


def _write(path, text):
  path.write_text(text)
  return path


def test_generic_csv(tmp_path):
  p = _write(tmp_path / "load.csv",
             "timestamp,a,b\n2020-01-01 00:00:00,1,2.5\n2020-01-01 01:00:00,3,-4\n")
  s = loaders.load_csv(p)
  assert s.name == "load" and s.columns == ("a", "b")
  np.testing.assert_array_equal(s.values, [[1, 2.5], [3, -4]])
  assert s.timestamps[1] - s.timestamps[0] == np.timedelta64(1, "h")
  assert len(s.fingerprint) == 16


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
    loaders.load_csv(p)


def test_wrong_field_count_and_missing_file(tmp_path):
  p = _write(tmp_path / "load.csv", "timestamp,a,b\n2020-01-01,1\n")
  with pytest.raises(ValueError, match=r"load\.csv:2"):
    loaders.load_csv(p)
  with pytest.raises(FileNotFoundError, match="timestamp,col1,col2"):
    loaders.load_csv(tmp_path / "absent.csv")
  with pytest.raises(ValueError, match="no value columns"):
    loaders.load_csv(_write(tmp_path / "one.csv", "timestamp\n2020-01-01\n"))


def test_ett_checks_sha256_and_says_where_to_put_the_file(tmp_path):
  with pytest.raises(FileNotFoundError, match="ETDataset"):
    loaders.load_ett(tmp_path, "ETTh1")
  (tmp_path / "ett").mkdir()
  _write(tmp_path / "ett" / "ETTh1.csv", "date,HUFL\n2016-07-01 00:00:00,1\n")
  with pytest.raises(download.ChecksumError, match="f18de3ad"):
    loaders.load_ett(tmp_path, "ETTh1")
  with pytest.raises(ValueError, match="ETTh1"):
    loaders.load_ett(tmp_path, "ETTm3")


def test_demand_csv_missing(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"demand\.csv"):
    loaders.load_demand(tmp_path)


def test_ettm_files_are_known_and_the_missing_file_error_says_where_to_put_them(tmp_path):
  (tmp_path / "ett").mkdir()
  for name, sha in (("ETTm1", "6ce1759b"), ("ETTm2", "db973ca2")):
    with pytest.raises(FileNotFoundError, match=rf"place the file at {tmp_path}/ett/{name}\.csv"
                       rf".*ETDataset.*{sha}"):
      loaders.load_ett(tmp_path, name)
  assert loaders.ETT_FREQUENCY["ETTm1"] == "15min"


def test_an_ett_format_path_is_named_after_its_file_unless_it_is_an_ett_file(tmp_path):
  p = _write(tmp_path / "ETTh1.csv", "date,HUFL\n2016-07-01 00:00:00,1\n2016-07-01 01:00:00,2\n")
  s = loaders.load_ett_format(p)
  assert s.name == "ETTh1.csv" and s.source == str(p)  # not the real ETTh1: no published figures


def test_a_series_on_a_non_local_file_system():
  # ram:// stands in for gs://bucket/series.csv: the loader reads through tf.io.gfile.
  import tensorflow as tf

  with tf.io.gfile.GFile("ram://loaders_test/load.csv", "w") as f:
    f.write("date,a,OT\n2020-01-01 00:00:00,1,2\n2020-01-01 00:15:00,3,4\n")
  s = loaders.load_ett_format("ram://loaders_test/load.csv")
  assert s.name == "load.csv" and s.source == "ram://loaders_test/load.csv"
  np.testing.assert_array_equal(s.values, [[1, 2], [3, 4]])
  with pytest.raises(FileNotFoundError, match=r"ram://loaders_test/absent\.csv does not exist"):
    loaders.load_csv("ram://loaders_test/absent.csv")
