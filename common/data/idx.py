"""The idx format of MNIST and Fashion-MNIST (`train-images-idx3-ubyte[.gz]`).

An idx file is a big-endian header — two zero bytes, a type code, the number of dimensions,
then one uint32 per dimension — followed by the array in C order. The reader validates every
part of it, since a truncated download or an HTML error page saved under the file's name
otherwise turns into a silently wrong array.
"""

import gzip
import os
import pathlib

import numpy as np

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


def _open(path: pathlib.Path):
  with open(path, "rb") as f:
    gzipped = f.read(2) == b"\x1f\x8b"
  return gzip.open(path, "rb") if gzipped else open(path, "rb")


def read_idx(path: str | os.PathLike) -> np.ndarray:
  """Reads an idx file (plain or gzipped) into a native-endian array of its shape.

  Raises:
    FileNotFoundError: the file does not exist.
    IdxFormatError: wrong magic number, unknown type code, or a size that does not match the
      header's dimensions.
  """
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"idx file {path} does not exist")
  try:
    with _open(path) as f:
      data = f.read()
  except (OSError, EOFError) as e:
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
  path = pathlib.Path(path)
  if path.suffix == ".gz":
    # No name and mtime=0 in the gzip header keep the bytes reproducible.
    with open(path, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as f:
      f.write(payload)
  else:
    path.write_bytes(payload)
