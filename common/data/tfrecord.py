"""TFRecord files in the ImageNet schema (`image/encoded`, `image/class/label`), checked on read.

The schema is the one of the TF-slim / TPU ImageNet preprocessing scripts, so files written
here read in any ImageNet input pipeline, and those pipelines' files read here:

    image/encoded      bytes   the PNG or JPEG file's bytes, undecoded
    image/class/label  int64   the class index
    image/format       bytes   "png" / "jpeg" (optional on read)

tf.data reports a damaged file as "corrupted record at 12" without naming the file, which is
useless with 1024 shards. So `image_dataset` first walks the record headers of every file (a
cheap check: 12 bytes per record, with their CRC) and names a truncated or damaged file before
training starts; `verify` reads every byte through TensorFlow and names a file whose payload is
damaged.

Every path may be on any file system TensorFlow knows (`gs://bucket/imagenet/train-*`, `ram://`,
local): files, globs and sizes go through `tf.io.gfile`. Under a multi-host strategy,
`image_dataset(..., input_context=ctx)` hands each input pipeline its own files
(`common.data.sharding`), so every file is read once across the hosts.
"""

import os
from collections.abc import Iterable, Sequence

import tensorflow as tf

from common.data import sharding

ENCODED = "image/encoded"
LABEL = "image/class/label"
FORMAT = "image/format"

_FEATURES = {
    ENCODED: tf.io.FixedLenFeature([], tf.string),
    LABEL: tf.io.FixedLenFeature([], tf.int64),
}


class CorruptTFRecordError(ValueError):
  """A TFRecord file is truncated or damaged; the message names the file and the offset."""


def _crc32c_table() -> list[int]:
  table = []
  for i in range(256):
    crc = i
    for _ in range(8):
      crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    table.append(crc)
  return table


_TABLE = _crc32c_table()


def _masked_crc32c(data: bytes) -> int:
  """TFRecord's masked CRC-32C (Castagnoli), used here on the 8-byte length header."""
  crc = 0xFFFFFFFF
  for byte in data:
    crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
  crc ^= 0xFFFFFFFF
  return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def check_framing(path: str | os.PathLike) -> int:
  """Walks the record headers of one TFRecord file and returns its number of records.

  Each record is <uint64 length><uint32 masked crc of length><data><uint32 masked crc of data>.
  This reads only the 12-byte headers, so it is fast; it finds truncation and damaged headers,
  not a flipped bit inside a payload (use `verify` for that).

  Raises:
    CorruptTFRecordError: naming the file, the record and the byte offset.
  """
  path = os.fspath(path)
  size = tf.io.gfile.stat(path).length
  count, offset = 0, 0
  with tf.io.gfile.GFile(path, "rb") as f:
    while offset < size:
      header = f.read(12)
      if len(header) < 12:
        raise CorruptTFRecordError(
            f"{path}: truncated TFRecord: record {count} at byte {offset} has a {len(header)}-byte "
            "header (12 expected); the file was cut short, re-create or re-copy it")
      length = int.from_bytes(header[:8], "little")
      if _masked_crc32c(header[:8]) != int.from_bytes(header[8:], "little"):
        raise CorruptTFRecordError(
            f"{path}: corrupt TFRecord: the length header of record {count} at byte {offset} fails "
            "its CRC; the file is damaged or not a TFRecord file")
      end = offset + 12 + length + 4
      if end > size:
        raise CorruptTFRecordError(
            f"{path}: truncated TFRecord: record {count} at byte {offset} needs {length + 16} bytes "
            f"but the file ends at {size}; the file was cut short, re-create or re-copy it")
      f.seek(end)
      offset, count = end, count + 1
  return count


def verify(path: str | os.PathLike) -> int:
  """Reads every record of one file through TensorFlow (checking payload CRCs); returns the count.

  Raises:
    CorruptTFRecordError: naming the file and TensorFlow's description of the damage.
  """
  check_framing(path)
  count = 0
  try:
    for _ in tf.data.TFRecordDataset(str(path)):
      count += 1
  except tf.errors.DataLossError as e:
    raise CorruptTFRecordError(
        f"{path}: corrupt TFRecord after {count} good records ({e.message.split('}')[-1].strip()}); "
        "re-create or re-copy the file") from e
  return count


def image_example(encoded: bytes, label: int, image_format: str = "png") -> tf.train.Example:
  """One ImageNet-schema `tf.train.Example`."""
  return tf.train.Example(features=tf.train.Features(feature={
      ENCODED: tf.train.Feature(bytes_list=tf.train.BytesList(value=[encoded])),
      LABEL: tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
      FORMAT: tf.train.Feature(bytes_list=tf.train.BytesList(value=[image_format.encode()])),
  }))


def write_image_examples(path: str | os.PathLike, examples: Iterable[tuple[bytes, int]],
                         image_format: str = "png") -> int:
  """Writes (encoded image bytes, label) pairs as ImageNet-schema TFRecords; returns the count."""
  count = 0
  with tf.io.TFRecordWriter(str(path)) as writer:
    for encoded, label in examples:
      # deterministic=True sorts the feature map: otherwise its order (and so the file's bytes)
      # can change from one process to the next.
      writer.write(image_example(encoded, label, image_format).SerializeToString(deterministic=True))
      count += 1
  return count


def parse_image_example(serialized: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
  """Parses one serialized ImageNet-schema example into (encoded bytes, int64 label)."""
  parsed = tf.io.parse_single_example(serialized, _FEATURES)
  return parsed[ENCODED], parsed[LABEL]


def _has_magic(pattern: str) -> bool:
  return any(c in pattern for c in "*?[")


def expand_files(files: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str]:
  """A glob pattern, one path or a list of paths (local or e.g. gs://) -> a sorted list of files."""
  if isinstance(files, (str, os.PathLike)):
    pattern = os.fspath(files)
    paths = sorted(tf.io.gfile.glob(pattern)) if _has_magic(pattern) else [pattern]
  else:
    paths = [os.fspath(p) for p in files]
  if not paths:
    raise FileNotFoundError(f"no TFRecord files match {files!s}; check the path or pattern")
  missing = [p for p in paths if not tf.io.gfile.exists(p) or tf.io.gfile.isdir(p)]
  if missing:
    raise FileNotFoundError(f"TFRecord file {missing[0]} does not exist"
                            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
  return paths


def image_dataset(files: str | os.PathLike | Sequence[str | os.PathLike], *, check: bool = True,
                  num_parallel_reads: int | None = None,
                  input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
  """A dataset of (encoded image bytes, int64 label) from ImageNet-schema TFRecord files.

  Args:
    files: a glob pattern, a path, or a list of paths.
    check: walk each file's record headers first (`check_framing`) so a truncated or damaged
      file is named before reading starts.
    num_parallel_reads: read this many files at once (None: in order, one by one, which keeps
      the element order reproducible).
    input_context: from `strategy.distribute_datasets_from_function`: return only this input
      pipeline's share, its own files when there are at least as many files as pipelines, else
      every n-th record (`common.data.sharding`). Pass `shard=False` to `pipeline.build` then.

  Raises:
    FileNotFoundError: no files, or a missing file.
    CorruptTFRecordError: a file fails the framing check.
  """
  paths = expand_files(files)
  own = sharding.shard_files(paths, input_context)
  if check:
    for path in paths if own is None else own:
      check_framing(path)
  ds = sharding.read_files(
      paths, lambda some: tf.data.TFRecordDataset(some, num_parallel_reads=num_parallel_reads),
      input_context=input_context)
  return ds.map(parse_image_example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
