"""The interactions CSV contract: a round trip on local disk and on a non-local file system."""

import numpy as np
import pytest
import tensorflow as tf

from recsys.data.interactions import Interactions, read_interactions, write_interactions


def _table(with_rating):
  return Interactions(np.array(["u1", "u2", "u1"], dtype=object), np.array(["i9", "i9", "i3"], dtype=object),
                      np.array([30, 10, 20], dtype=np.int64),
                      np.array([4.0, 2.5, 1.0], dtype=np.float32) if with_rating else None)


@pytest.mark.parametrize("filesystem", ["local", "ram"])
@pytest.mark.parametrize("with_rating", [True, False])
def test_write_then_read_gives_the_same_table(tmp_path, filesystem, with_rating):
  # ram:// stands for a data folder on a non-local file system such as gs://.
  folder = str(tmp_path) if filesystem == "local" else f"ram://interactions/{tmp_path.name}"
  tf.io.gfile.makedirs(folder)
  path = f"{folder}/interactions.csv"
  write_interactions(_table(with_rating), path)
  back = read_interactions(path)
  table = _table(with_rating)
  np.testing.assert_array_equal(back.user_id, table.user_id)
  np.testing.assert_array_equal(back.item_id, table.item_id)
  np.testing.assert_array_equal(back.timestamp, table.timestamp)
  if with_rating:
    np.testing.assert_array_equal(back.rating, table.rating)
  else:
    assert back.rating is None


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
