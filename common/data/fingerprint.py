"""Dataset fingerprints: a short, stable name for exactly the data a model saw.

Every export records the fingerprint of its training data (`metadata.json` → `data_fingerprint`), so
two models can be compared only when they saw the same data, and a re-run on a changed file is
visible. A fingerprint is `<source>:<16 hex digits>`: the source says where the data came from
(`mnist`, `ett`, `folder`, `shopworld`...), the digits are the first 64 bits of a SHA-256 over
everything that defines the data.

    fingerprint.of("mnist", *sorted(checksums.values()))     # from published file checksums
    fp = fingerprint.Fingerprint("folder")
    for key in sorted(keys):
      fp.update(key)
    fp.update(images_array)                                     # numpy arrays hash their bytes
    str(fp)                                                     # 'folder:3f1c…'
    fingerprint.of_files("tfrecord", paths)                     # file contents, local or gs://

Each part is length-prefixed before it is hashed, so ("ab", "c") and ("a", "bc") differ.
Fingerprints name data; they are not for security.
"""

import hashlib
from collections.abc import Iterable

import numpy as np
import tensorflow as tf

_DIGITS = 16
_CHUNK = 1 << 20


class Fingerprint:
  """An incremental fingerprint: `update` with the parts that define the data, then `str()`."""

  def __init__(self, source: str):
    if not source or ":" in source:
      raise ValueError(f"fingerprint source {source!r} must be a non-empty name without ':'; "
                       "use the dataset's name, e.g. 'mnist' or 'folder'")
    self.source = source
    self._digest = hashlib.sha256()

  def update(self, *parts) -> "Fingerprint":
    """Adds `parts` (bytes, str, int, float, numpy arrays, or iterables of these) in order."""
    for part in parts:
      self._add(part)
    return self

  def _add(self, part) -> None:
    if isinstance(part, bytes | bytearray | memoryview):
      data = bytes(part)
    elif isinstance(part, str):
      data = part.encode()
    elif isinstance(part, np.ndarray):
      array = np.ascontiguousarray(part)
      data = f"{array.dtype.str}{array.shape}".encode() + array.tobytes()
    elif isinstance(part, bool | int | float | np.generic):
      data = repr(part.item() if isinstance(part, np.generic) else part).encode()
    elif isinstance(part, Iterable):
      items = list(part)
      self._digest.update(b"[%d]" % len(items))
      for item in items:
        self._add(item)
      return
    else:
      raise TypeError(f"cannot fingerprint a {type(part).__name__}; pass bytes, str, numbers, "
                      "numpy arrays or lists of these")
    self._digest.update(len(data).to_bytes(8, "little"))
    self._digest.update(data)

  def update_file(self, path: str) -> "Fingerprint":
    """Adds the contents of the file at `path` (any `tf.io.gfile` location, e.g. gs://)."""
    with tf.io.gfile.GFile(path, "rb") as f:
      size = 0
      digest = hashlib.sha256()
      while chunk := f.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return self.update(size, digest.digest())

  def hexdigest(self) -> str:
    return self._digest.hexdigest()[:_DIGITS]

  def __str__(self) -> str:
    return f"{self.source}:{self.hexdigest()}"


def of(source: str, *parts) -> str:
  """The fingerprint of `parts` under `source`, e.g. `of("digits", images, labels)`."""
  return str(Fingerprint(source).update(*parts))


def of_files(source: str, paths: Iterable[str]) -> str:
  """The fingerprint of the files' names (base names, in the given order) and contents."""
  fp = Fingerprint(source)
  for path in paths:
    fp.update(path.rstrip("/").rsplit("/", 1)[-1])
    fp.update_file(path)
  return str(fp)
