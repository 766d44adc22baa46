"""Fingerprints are stable, order- and boundary-sensitive, and read files through gfile."""

import numpy as np
import pytest
import tensorflow as tf

from common.data import fingerprint


def test_format_is_source_and_16_hex_digits():
  fp = fingerprint.of("mnist", "a", "b")
  source, digits = fp.split(":")
  assert source == "mnist" and len(digits) == 16 and int(digits, 16) >= 0


def test_same_parts_same_fingerprint_and_order_matters():
  assert fingerprint.of("x", "a", b"b", 3) == fingerprint.of("x", "a", b"b", 3)
  assert fingerprint.of("x", "a", "b") != fingerprint.of("x", "b", "a")
  assert fingerprint.of("x", "a") != fingerprint.of("y", "a")


def test_part_boundaries_matter():
  assert fingerprint.of("x", "ab", "c") != fingerprint.of("x", "a", "bc")
  assert fingerprint.of("x", ["ab"], "c") != fingerprint.of("x", "ab", "c")


def test_arrays_hash_dtype_shape_and_values():
  a = np.arange(6, dtype=np.uint8)
  assert fingerprint.of("x", a) == fingerprint.of("x", a.copy())
  assert fingerprint.of("x", a) != fingerprint.of("x", a.reshape(2, 3))
  assert fingerprint.of("x", a) != fingerprint.of("x", a.astype(np.int64))
  assert fingerprint.of("x", a[::2]) == fingerprint.of("x", np.array([0, 2, 4], np.uint8))


def test_incremental_equals_one_shot():
  fp = fingerprint.Fingerprint("folder")
  for key in ["k1", "k2"]:
    fp.update(key)
  assert str(fp) == fingerprint.of("folder", "k1", "k2")


def test_files_through_gfile(tmp_path):
  for name, text in [("a.txt", "one"), ("b.txt", "two")]:
    (tmp_path / name).write_text(text)
  paths = [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
  first = fingerprint.of_files("csv", paths)
  assert first == fingerprint.of_files("csv", paths)
  with tf.io.gfile.GFile("ram://fingerprint_test/a.txt", "wb") as f:
    f.write(b"one")
  with tf.io.gfile.GFile("ram://fingerprint_test/b.txt", "wb") as f:
    f.write(b"two")
  assert fingerprint.of_files("csv", ["ram://fingerprint_test/a.txt",
                                      "ram://fingerprint_test/b.txt"]) == first
  (tmp_path / "b.txt").write_text("two!")
  assert fingerprint.of_files("csv", paths) != first


@pytest.mark.parametrize("source", ["", "a:b"])
def test_bad_source_names_the_fix(source):
  with pytest.raises(ValueError, match="dataset's name"):
    fingerprint.Fingerprint(source)


def test_unhashable_part_names_the_types():
  with pytest.raises(TypeError, match="bytes, str, numbers"):
    fingerprint.of("x", object())
