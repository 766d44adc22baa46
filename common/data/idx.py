"""The idx format of MNIST and Fashion-MNIST (`train-images-idx3-ubyte[.gz]`).

An idx file is a big-endian header — two zero bytes, a type code, the number of dimensions,
then one uint32 per dimension — followed by the array in C order. The reader validates every
part of it, since a truncated download or an HTML error page saved under the file's name
otherwise turns into a silently wrong array.

A labelled set is a pair of such files: images `[N, rows, cols]` (or `[N, rows, cols, channels]`)
of uint8 and labels `[N]` of class indices (`read_pair`). Paths may be on any file system
TensorFlow knows (gs://bucket/x-idx3-ubyte.gz, ram://, local): a URL is read and written through
`tf.io.gfile`, a plain local path through Python's own files, so reading a local file does not pay
for importing TensorFlow.
"""

import gzip
import io
import os
import zlib

import numpy as np

from common.data import files as file_io

# Type code -> big-endian dtype, from the format's definition (yann.lecun.com/exdb/mnist).
_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in _DTYPES.items()}


class IdxFormatError(ValueError):
  """The file is not a valid idx file; the message names the file and the problem."""


def read_idx(path: str | os.PathLike) -> np.ndarray:
  """Reads an idx file (plain or gzipped) into a native-endian array of its shape.

  Raises:
    FileNotFoundError: the file does not exist.
    IdxFormatError: wrong magic number, unknown type code, or a size that does not match the
      header's dimensions.
  """
  path = os.fspath(path)
  data = _read_bytes(path)
  if data[:2] == b"\x1f\x8b":
    try:
      data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
      raise IdxFormatError(f"{path}: cannot decompress ({e}); re-download the file") from e
  if len(data) < 4 or data[0] != 0 or data[1] != 0:
    raise IdxFormatError(
        f"{path}: bad magic number {data[:4].hex() or '(empty file)'}; an idx file starts with "
        "00 00 <type> <ndim> (is it an HTML error page or a different format?)")
  code, ndim = data[2], data[3]
  if code not in _DTYPES:
    raise IdxFormatError(
        f"{path}: unknown idx type code 0x{code:02x}; expected one of "
        f"{', '.join(f'0x{c:02x}' for c in _DTYPES)}")
  if ndim == 0:
    raise IdxFormatError(f"{path}: header says 0 dimensions")
  header_end = 4 + 4 * ndim
  if len(data) < header_end:
    raise IdxFormatError(f"{path}: file ends inside the header ({len(data)} bytes)")
  dims = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
  dtype = _DTYPES[code]
  expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
  found = len(data) - header_end
  if found != expected:
    raise IdxFormatError(
        f"{path}: header says shape {dims} of {dtype.name} ({expected} bytes of data) but the file "
        f"has {found}; the file is truncated or corrupt, re-download it")
  return np.frombuffer(data, dtype, offset=header_end).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
  """Writes `array` as an idx file (gzipped if `path` ends in .gz)."""
  array = np.asarray(array)
  native = array.dtype.newbyteorder("=")
  if native not in _CODES:
    raise ValueError(f"idx cannot store dtype {array.dtype}; use one of "
                     f"{sorted(str(d) for d in _CODES)}")
  code = _CODES[native]
  header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
  payload = header + array.astype(_DTYPES[code]).tobytes()
  path = os.fspath(path)
  if path.endswith(".gz"):
    # No name and mtime=0 in the gzip header keep the bytes reproducible.
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", fileobj=buffer, mode="wb", mtime=0) as f:
      f.write(payload)
    payload = buffer.getvalue()
  file_io.write_bytes(path, payload)


def _read_bytes(path: str) -> bytes:
  return file_io.read_bytes(path, f"idx file {path} does not exist; pass the path of an existing "
                          "idx file (e.g. train-images-idx3-ubyte.gz, plain or gzipped)")


def read_pair(images_path: str | os.PathLike,
              labels_path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
  """Reads one labelled set: an images file and the labels file that belongs to it.

  Returns:
    (images uint8 [N, rows, cols] or [N, rows, cols, 1 | 3], labels int64 [N]).

  Raises:
    FileNotFoundError: a file does not exist.
    IdxFormatError: naming the file (and the record) when a file is not valid idx (`read_idx`),
      the images are not uint8 pictures, the labels are not one integer per image, a label is
      negative, or the two files hold different numbers of records; each message says the fix.
  """
  images_path, labels_path = os.fspath(images_path), os.fspath(labels_path)
  images, labels = read_idx(images_path), read_idx(labels_path)
  channels_ok = images.ndim == 3 or (images.ndim == 4 and images.shape[-1] in (1, 3))
  if images.dtype != np.uint8 or not channels_ok:
    raise IdxFormatError(
        f"{images_path}: holds {images.dtype.name} of shape {images.shape}; an images file holds "
        "uint8 pixels [N, rows, cols] (or [N, rows, cols, 1|3]). Is it a labels file? Pass the "
        "images as data.images and their labels as data.labels")
  if labels.ndim != 1 or labels.dtype.kind not in "iu":
    raise IdxFormatError(
        f"{labels_path}: holds {labels.dtype.name} of shape {labels.shape}; a labels file holds "
        "one integer class index per image, shape [N]. Is it an images file? Pass the labels "
        "as data.labels")
  if len(images) != len(labels):
    raise IdxFormatError(
        f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels; "
        "pass the labels file that belongs to these images (MNIST: train-images with "
        "train-labels, t10k-images with t10k-labels)")
  negative = np.nonzero(labels < 0)[0]
  if len(negative):
    raise IdxFormatError(
        f"{labels_path}: record {int(negative[0])} has label {int(labels[negative[0]])}; labels "
        "are class indices 0..K-1, so renumber the classes from 0")
  return images, labels.astype(np.int64)
