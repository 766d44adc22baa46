"""The interactions CSV contract, read from local disk and from a non-local file system."""

import numpy as np
import pytest
import tensorflow as tf

from recsys.data.interactions import read_interactions

_CSV = {True: "user_id,item_id,timestamp,rating\nu1,i9,30,4\nu2,i9,10,2.5\nu1,i3,20,1\n",
        False: "user_id,item_id,timestamp\nu1,i9,30\nu2,i9,10\nu1,i3,20\n"}


@pytest.mark.parametrize("filesystem", ["local", "ram"])
@pytest.mark.parametrize("with_rating", [True, False])
def test_reads_the_table_in_file_order(tmp_path, filesystem, with_rating):
  # ram:// stands for a data folder on a non-local file system such as gs://.
  folder = str(tmp_path) if filesystem == "local" else f"ram://interactions/{tmp_path.name}"
  tf.io.gfile.makedirs(folder)
  path = f"{folder}/interactions.csv"
  with tf.io.gfile.GFile(path, "w") as f:
    f.write(_CSV[with_rating])
  table = read_interactions(path)
  assert list(table.user_id) == ["u1", "u2", "u1"]
  assert list(table.item_id) == ["i9", "i9", "i3"]
  np.testing.assert_array_equal(table.timestamp, np.array([30, 10, 20], dtype=np.int64))
  assert table.timestamp.dtype == np.int64
  if with_rating:
    np.testing.assert_array_equal(table.rating, np.array([4.0, 2.5, 1.0], dtype=np.float32))
  else:
    assert table.rating is None


def test_malformed_rows_are_named_by_file_and_line(tmp_path):
  path = f"ram://interactions/{tmp_path.name}/bad.csv"
  with tf.io.gfile.GFile(path, "w") as f:
    f.write("user_id,item_id,timestamp\nu1,i1,5\nu2,i2,yesterday\n")
  with pytest.raises(ValueError, match=r"bad.csv:3: timestamp must be an integer"):
    read_interactions(path)
  path = f"ram://interactions/{tmp_path.name}/bad_header.csv"  # ram:// appends on rewrite: a new file
  with tf.io.gfile.GFile(path, "w") as f:
    f.write("user,item,time\nu1,i1,5\n")
  with pytest.raises(ValueError, match=r"bad_header.csv:1: expected the header user_id,item_id,timestamp"):
    read_interactions(path)
