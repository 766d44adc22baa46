"""tfrecord: ImageNet-schema round trip, and corrupt files named before or while reading."""

import io
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from common.data import tfrecord


def _png(value: int) -> bytes:
  buf = io.BytesIO()
  Image.fromarray(np.full((4, 4, 3), value, np.uint8)).save(buf, format="PNG")
  return buf.getvalue()


@pytest.fixture
def records(tmp_path):
  path = tmp_path / "train-00000-of-00001"
  examples = [(_png(10 * i), i % 3) for i in range(6)]
  assert tfrecord.write_image_examples(path, examples) == 6
  return path, examples


def test_round_trip_in_imagenet_schema(records):
  path, examples = records
  got = [(e.numpy(), int(label)) for e, label in tfrecord.image_dataset(str(path))]
  assert got == examples
  image = tf.io.decode_png(got[2][0])
  assert int(image[0, 0, 0]) == 20


def test_schema_is_readable_by_a_plain_parser(records):
  # What an ImageNet pipeline elsewhere would do with our files.
  path, _ = records
  raw = next(iter(tf.data.TFRecordDataset(str(path))))
  example = tf.train.Example.FromString(raw.numpy())
  assert example.features.feature["image/class/label"].int64_list.value == [0]
  assert example.features.feature["image/format"].bytes_list.value == [b"png"]


def test_glob_and_counts(records, tmp_path):
  path, _ = records
  assert tfrecord.expand_files(str(tmp_path / "train-*")) == [str(path)]
  assert tfrecord.check_framing(path) == 6
  assert tfrecord.verify(path) == 6


def test_truncated_file_is_named_before_reading(records):
  path, _ = records
  data = path.read_bytes()
  path.write_bytes(data[:-30])
  with pytest.raises(tfrecord.CorruptTFRecordError) as e:
    tfrecord.image_dataset([path])
  assert str(path) in str(e.value) and "truncated" in str(e.value) and "record 5" in str(e.value)


def test_damaged_length_header_is_named(records):
  path, _ = records
  data = bytearray(path.read_bytes())
  data[1] ^= 0xFF
  path.write_bytes(bytes(data))
  with pytest.raises(tfrecord.CorruptTFRecordError, match="length header of record 0 at byte 0 fails"):
    tfrecord.image_dataset(str(path))


def test_damaged_payload_is_named_by_verify(records):
  path, _ = records
  data = bytearray(path.read_bytes())
  data[40] ^= 0x01  # inside the first record's payload
  path.write_bytes(bytes(data))
  tfrecord.check_framing(path)  # headers are still fine
  with pytest.raises(tfrecord.CorruptTFRecordError) as e:
    tfrecord.verify(path)
  assert str(path) in str(e.value) and "corrupted record" in str(e.value)


def test_missing_files_are_explained(tmp_path):
  with pytest.raises(FileNotFoundError, match="no TFRecord files match"):
    tfrecord.image_dataset(str(tmp_path / "*.tfrecord"))
  with pytest.raises(FileNotFoundError, match="does not exist"):
    tfrecord.image_dataset([tmp_path / "a.tfrecord"])


def test_same_examples_same_bytes_in_another_process(tmp_path):
  # Protobuf map order may differ between processes; the writer must not let it show.
  examples = [(b"png-bytes", i) for i in range(20)]
  code = ("import sys; from common.data import tfrecord; "
          f"tfrecord.write_image_examples(sys.argv[1], {examples!r})")
  subprocess.run([sys.executable, "-c", code, str(tmp_path / "other")], check=True,
                 env={"PYTHONPATH": ":".join(sys.path), "PYTHONHASHSEED": "7"})
  tfrecord.write_image_examples(tmp_path / "here", examples)
  assert (tmp_path / "other").read_bytes() == (tmp_path / "here").read_bytes()


def test_masked_crc_matches_tensorflow_writer(tmp_path):
  # The length header TF writes for a 3-byte record carries the masked CRC we compute.
  path = tmp_path / "r"
  with tf.io.TFRecordWriter(str(path)) as w:
    w.write(b"abc")
  header = path.read_bytes()[:12]
  assert tfrecord._masked_crc32c(header[:8]) == int.from_bytes(header[8:], "little")
