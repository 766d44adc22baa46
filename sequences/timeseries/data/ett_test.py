"""ETT files: checksummed, the missing-file error says where to put them, ETT-format files by path."""

import numpy as np
import pytest
import tensorflow as tf

from common.data import download
from sequences.timeseries.data import ett


def _write(path, text):
  path.write_text(text)
  return path


def test_ett_checks_sha256_and_says_where_to_put_the_file(tmp_path):
  with pytest.raises(FileNotFoundError, match="ETDataset"):
    ett.load(tmp_path, "ETTh1")
  (tmp_path / "ett").mkdir()
  _write(tmp_path / "ett" / "ETTh1.csv", "date,HUFL\n2016-07-01 00:00:00,1\n")
  with pytest.raises(download.ChecksumError, match="f18de3ad"):
    ett.load(tmp_path, "ETTh1")
  with pytest.raises(ValueError, match="ETTh1"):
    ett.load(tmp_path, "ETTm3")


def test_ettm_files_are_known_and_the_missing_file_error_says_where_to_put_them(tmp_path):
  (tmp_path / "ett").mkdir()
  for name, sha in (("ETTm1", "6ce1759b"), ("ETTm2", "db973ca2")):
    with pytest.raises(FileNotFoundError, match=rf"place the file at {tmp_path}/ett/{name}\.csv"
                       rf".*ETDataset.*{sha}"):
      ett.load(tmp_path, name)
  assert ett.FREQUENCY["ETTm1"] == "15min"


def test_an_ett_format_path_is_named_after_its_file_unless_it_is_an_ett_file(tmp_path):
  p = _write(tmp_path / "ETTh1.csv", "date,HUFL\n2016-07-01 00:00:00,1\n2016-07-01 01:00:00,2\n")
  s = ett.load_format(p)
  assert s.name == "ETTh1.csv" and s.source == str(p)  # not the real ETTh1: no published figures
  assert s.fingerprint.startswith("csv:")  # and not fingerprinted as ETT data


def test_an_ett_format_series_on_a_non_local_file_system():
  # ram:// stands in for gs://bucket/series.csv: the loader reads through tf.io.gfile.
  with tf.io.gfile.GFile("ram://ett_test/load.csv", "w") as f:
    f.write("date,a,OT\n2020-01-01 00:00:00,1,2\n2020-01-01 00:15:00,3,4\n")
  s = ett.load_format("ram://ett_test/load.csv")
  assert s.name == "load.csv" and s.source == "ram://ett_test/load.csv"
  np.testing.assert_array_equal(s.values, [[1, 2], [3, 4]])
