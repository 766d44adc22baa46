"""Whole-file reads and writes on any file system, without importing TensorFlow for local paths.

A location a user passes may be a URL (gs://, ram://): those go through `tf.io.gfile`. A plain
local path is read with Python's own files, so TensorFlow-free tools (the shop world generator,
the idx and CSV writers it uses) start in a fraction of a second.
"""

import os


def is_url(path: str | os.PathLike) -> bool:
  """True for a filesystem URL such as gs://bucket/x or ram://x."""
  return "://" in os.fspath(path)


def read_bytes(path: str | os.PathLike, missing: str) -> bytes:
  """The file's bytes; FileNotFoundError(`missing`) when there is no such file."""
  path = os.fspath(path)
  if is_url(path):
    import tensorflow as tf  # only for URLs: see the module docstring

    if not tf.io.gfile.exists(path) or tf.io.gfile.isdir(path):
      raise FileNotFoundError(missing)
    with tf.io.gfile.GFile(path, "rb") as f:
      return f.read()
  try:
    with open(path, "rb") as f:  # local: no URL scheme
      return f.read()
  except (FileNotFoundError, IsADirectoryError) as e:
    raise FileNotFoundError(missing) from e


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
  """Writes `data` as the whole file at `path`."""
  path = os.fspath(path)
  if is_url(path):
    import tensorflow as tf  # only for URLs: see the module docstring

    with tf.io.gfile.GFile(path, "wb") as f:
      f.write(data)
  else:
    with open(path, "wb") as f:  # local: no URL scheme
      f.write(data)
