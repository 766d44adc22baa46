"""idx: round trips, MNIST's exact header, and clear errors for corrupt files."""

import numpy as np
import pytest

from common.data import idx


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("name", ["x-idx3-ubyte", "x-idx3-ubyte.gz"])
def test_round_trip(tmp_path, dtype, name):
  array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
  idx.write_idx(tmp_path / name, array)
  back = idx.read_idx(tmp_path / name)
  assert back.dtype == np.dtype(dtype) and back.shape == (2, 3, 4)
  np.testing.assert_array_equal(back, array)


def test_reads_mnist_style_labels_byte_for_byte(tmp_path):
  # MNIST's label file: magic 0x00000801, count, then one byte per label.
  raw = bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + bytes([7, 2, 1])
  (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(raw)
  np.testing.assert_array_equal(idx.read_idx(tmp_path / "t10k-labels-idx1-ubyte"), [7, 2, 1])


def test_bad_magic_says_what_it_found(tmp_path):
  (tmp_path / "page").write_bytes(b"<html>not found</html>")
  with pytest.raises(idx.IdxFormatError, match=r"page: bad magic number 3c68746d"):
    idx.read_idx(tmp_path / "page")


def test_unknown_type_code(tmp_path):
  (tmp_path / "f").write_bytes(bytes([0, 0, 0x07, 1, 0, 0, 0, 0]))
  with pytest.raises(idx.IdxFormatError, match="unknown idx type code 0x07"):
    idx.read_idx(tmp_path / "f")


def test_truncated_data_names_shape_and_sizes(tmp_path):
  idx.write_idx(tmp_path / "imgs", np.zeros((10, 28, 28), np.uint8))
  data = (tmp_path / "imgs").read_bytes()
  (tmp_path / "imgs").write_bytes(data[:-100])
  with pytest.raises(idx.IdxFormatError, match=r"shape \(10, 28, 28\).*7840 bytes.*7740"):
    idx.read_idx(tmp_path / "imgs")


def test_header_cut_short_and_missing_file(tmp_path):
  (tmp_path / "h").write_bytes(bytes([0, 0, 8, 3, 0, 0]))
  with pytest.raises(idx.IdxFormatError, match="ends inside the header"):
    idx.read_idx(tmp_path / "h")
  with pytest.raises(FileNotFoundError, match="does not exist"):
    idx.read_idx(tmp_path / "nope")


def test_gzip_is_byte_reproducible(tmp_path):
  array = np.arange(100, dtype=np.uint8)
  idx.write_idx(tmp_path / "a.gz", array)
  idx.write_idx(tmp_path / "b.gz", array)
  assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()


def test_pair_reads_images_and_labels(tmp_path):
  images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
  idx.write_idx(tmp_path / "i.gz", images)
  idx.write_idx(tmp_path / "l", np.array([2, 0, 1], np.uint8))
  x, y = idx.read_pair(tmp_path / "i.gz", tmp_path / "l")
  np.testing.assert_array_equal(x, images)
  assert y.dtype == np.int64 and y.tolist() == [2, 0, 1]


def test_pair_errors_name_the_file_the_record_and_the_fix(tmp_path):
  idx.write_idx(tmp_path / "imgs", np.zeros((3, 4, 4), np.uint8))
  idx.write_idx(tmp_path / "labs", np.array([1, 0], np.uint8))
  with pytest.raises(idx.IdxFormatError, match=r"imgs has 3 images but .*labs has 2 labels; pass "
                     "the labels file that belongs"):
    idx.read_pair(tmp_path / "imgs", tmp_path / "labs")
  with pytest.raises(idx.IdxFormatError, match=r"labs: holds uint8 of shape \(2,\).*Is it a "
                     "labels file"):
    idx.read_pair(tmp_path / "labs", tmp_path / "imgs")
  idx.write_idx(tmp_path / "neg", np.array([1, -2, 0], np.int16))
  with pytest.raises(idx.IdxFormatError, match=r"neg: record 1 has label -2.*renumber"):
    idx.read_pair(tmp_path / "imgs", tmp_path / "neg")
  idx.write_idx(tmp_path / "float", np.zeros((3, 4, 4), np.float32))
  with pytest.raises(idx.IdxFormatError, match=r"float: holds float32"):
    idx.read_pair(tmp_path / "float", tmp_path / "neg")
