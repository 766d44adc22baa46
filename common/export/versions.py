"""Version directories in the TF Serving layout, published atomically.

TensorFlow Serving watches `<export_root>/<model_name>/` and loads the
integer-named subdirectories as versions of a model. A server polling that
directory must never see a half-written version, and two jobs exporting the
same model at once must not pick the same number. So a version is written into
a hidden staging directory in the same model directory (same file system, so
the final step is a rename), flushed to disk, then renamed to its number while
holding an exclusive lock on `<model_dir>/.publish.lock`:

    staging = versions.make_staging_dir(model_dir)
    ... write saved_model.pb, variables/ into staging ...
    version_dir = versions.publish(staging, model_dir, before_rename=write_metadata)

A crash before the rename leaves only a hidden `.staging-*` directory, which
TF Serving ignores (it only loads integer names) and `remove_stale_staging`
deletes later. This module uses only the standard library (no TensorFlow), so
tools and servers can list versions cheaply.

Object stores (gs://, and any other file system TensorFlow knows, such as ram://)
have no atomic rename and no file locks: a "rename" of a directory is a copy of
every object, visible half-done. There a version is written in place under its
final number and `assets.extra/metadata.json` is the LAST file written
(`common.export.publish`): a version directory without metadata.json is
incomplete, and the model server waits for it. Listing such roots goes through
`tf.io.gfile` (TensorFlow is imported only then). Two exporters publishing the same
model on an object store at the same instant can pick the same number; exports of
one model come from one training job, so that is accepted and named here.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import pathlib
import shutil
import time
import uuid
from collections.abc import Callable, Iterator

STAGING_PREFIX = ".staging-"
LOCK_NAME = ".publish.lock"


class ExportLayoutError(ValueError):
  """A path is not an export (or model) directory in the expected layout."""


def is_local(path: str | os.PathLike) -> bool:
  """True for a local path; False for a URL such as gs://bucket/exports or ram://x."""
  return "://" not in os.fspath(path)


def _gfile():
  import tensorflow as tf  # only for non-local roots: local listing stays TensorFlow-free

  return tf.io.gfile


def join(path: str | os.PathLike, *names: str) -> pathlib.Path | str:
  """`path/name/...`: a `pathlib.Path` for a local path, a string for a URL.

  pathlib would collapse gs://bucket into gs:/bucket, so URLs stay strings.
  """
  if is_local(path):
    return pathlib.Path(path).joinpath(*names)
  return "/".join([os.fspath(path).rstrip("/"), *(str(n).strip("/") for n in names)])


def list_versions(model_dir: str | os.PathLike) -> list[int]:
  """The published versions under `model_dir`, ascending; [] when there are none."""
  if not is_local(model_dir):
    gfile = _gfile()
    if not gfile.isdir(os.fspath(model_dir)):
      return []
    names = (n.rstrip("/") for n in gfile.listdir(os.fspath(model_dir)))
    return sorted(int(n) for n in names if n.isdigit() and gfile.isdir(join(model_dir, n)))
  model_dir = pathlib.Path(model_dir)
  if not model_dir.is_dir():
    return []
  return sorted(int(p.name) for p in model_dir.iterdir() if p.name.isdigit() and p.is_dir())


def resolve(path: str | os.PathLike) -> pathlib.Path | str:
  """Returns the version directory for a version dir, or the newest version of a model dir.

  A local path comes back as a `pathlib.Path`, a URL (gs://, ram://) as a string.

  Raises:
    ExportLayoutError: the path does not exist or holds no published version.
  """
  if not is_local(path):
    return _resolve_url(os.fspath(path).rstrip("/"))
  path = pathlib.Path(path)
  if not path.exists():
    raise ExportLayoutError(f"export path {path} does not exist; expected "
                            "<export_root>/<model_name>[/<version>]")
  if path.name.isdigit() and (path / "saved_model.pb").is_file():
    return path
  found = list_versions(path)
  if found:
    return path / str(found[-1])
  if (path / "saved_model.pb").is_file():
    return path  # a bare SavedModel directory, not in the versioned layout
  models = sorted(p.name for p in path.iterdir() if p.is_dir() and list_versions(p))
  if models:
    raise ExportLayoutError(f"{path} is an export root holding the models {', '.join(models)}; "
                            f"pass one of them, e.g. {path / models[0]}")
  raise ExportLayoutError(
      f"{path} is neither a version directory (with saved_model.pb) nor a model directory with "
      "integer version subdirectories; pass <export_root>/<model_name> or "
      "<export_root>/<model_name>/<version>")


def _resolve_url(path: str) -> str:
  """`resolve` for a URL, through tf.io.gfile."""
  gfile = _gfile()
  if not gfile.exists(path):
    raise ExportLayoutError(f"export path {path} does not exist; expected "
                            "<export_root>/<model_name>[/<version>]")
  name = path.rsplit("/", 1)[-1]
  if name.isdigit() and gfile.exists(join(path, "saved_model.pb")):
    return path
  found = list_versions(path)
  # The newest version whose metadata.json exists: on an object store a version without it is
  # still being written (metadata.json is its last file).
  for number in reversed(found):
    if gfile.exists(join(path, str(number), "assets.extra", "metadata.json")):
      return join(path, str(number))
  if found:
    return join(path, str(found[-1]))
  if gfile.exists(join(path, "saved_model.pb")):
    return path
  raise ExportLayoutError(
      f"{path} is neither a version directory (with saved_model.pb) nor a model directory with "
      "integer version subdirectories; pass <export_root>/<model_name> or "
      "<export_root>/<model_name>/<version>")


def next_version(model_dir: str | os.PathLike, version: int | None = None) -> int:
  """The number a new export takes: `version` if free, else one more than the newest.

  Raises:
    ExportLayoutError: the explicit `version` exists already.
  """
  existing = list_versions(model_dir)
  if version is None:
    return (existing[-1] if existing else 0) + 1
  if version in existing:
    raise ExportLayoutError(f"version {version} of {model_dir} already exists; versions are "
                            "never overwritten, omit version= to take the next number")
  return version


def make_staging_dir(model_dir: str | os.PathLike) -> pathlib.Path:
  """Creates a fresh hidden staging directory inside `model_dir` (created if needed)."""
  model_dir = pathlib.Path(model_dir)
  model_dir.mkdir(parents=True, exist_ok=True)
  staging = model_dir / f"{STAGING_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
  staging.mkdir()
  return staging


def remove_stale_staging(model_dir: str | os.PathLike, max_age_seconds: float = 24 * 3600) -> list[
    pathlib.Path]:
  """Deletes staging directories left by crashed exports, older than `max_age_seconds`.

  The age guard keeps it from deleting the staging directory of an export
  that is running right now in another process.

  Returns:
    The directories removed.
  """
  model_dir = pathlib.Path(model_dir)
  if not model_dir.is_dir():
    return []
  removed = []
  now = time.time()
  for p in model_dir.iterdir():
    if p.name.startswith(STAGING_PREFIX) and now - p.stat().st_mtime >= max_age_seconds:
      shutil.rmtree(p, ignore_errors=True)
      removed.append(p)
  return removed


def _fsync_path(path: pathlib.Path) -> None:
  fd = os.open(path, os.O_RDONLY)
  try:
    os.fsync(fd)
  finally:
    os.close(fd)


def fsync_tree(root: str | os.PathLike) -> None:
  """Flushes every file and directory under `root` to disk (so a rename publishes whole data)."""
  for dirpath, _, filenames in os.walk(root):
    for name in filenames:
      _fsync_path(pathlib.Path(dirpath) / name)
    _fsync_path(pathlib.Path(dirpath))


@contextlib.contextmanager
def _exclusive_lock(model_dir: pathlib.Path) -> Iterator[None]:
  with open(model_dir / LOCK_NAME, "a") as lock_file:
    fcntl.flock(lock_file, fcntl.LOCK_EX)
    try:
      yield
    finally:
      fcntl.flock(lock_file, fcntl.LOCK_UN)


def publish(staging: str | os.PathLike, model_dir: str | os.PathLike, *,
            version: int | None = None,
            before_rename: Callable[[int, pathlib.Path], None] | None = None) -> pathlib.Path:
  """Renames a complete staging directory to the model's next version number.

  Args:
    staging: a directory from `make_staging_dir(model_dir)`, fully written.
    model_dir: `<export_root>/<model_name>`.
    version: an explicit version number; default: one more than the newest.
    before_rename: called as `before_rename(version, staging)` under the lock,
      once the number is known (e.g. to write metadata that records it).

  Returns:
    The published version directory.

  Raises:
    ExportLayoutError: `staging` is not inside `model_dir`, or `version` exists.
  """
  staging, model_dir = pathlib.Path(staging), pathlib.Path(model_dir)
  if staging.parent.resolve() != model_dir.resolve():
    raise ExportLayoutError(f"staging directory {staging} must be inside {model_dir} so that "
                            "publishing is a same-file-system rename; use make_staging_dir()")
  fsync_tree(staging)
  with _exclusive_lock(model_dir):
    version = next_version(model_dir, version)
    if before_rename is not None:
      before_rename(version, staging)
      fsync_tree(staging)
    final = model_dir / str(version)
    try:
      os.rename(staging, final)
    except OSError as e:
      if e.errno in (errno.EEXIST, errno.ENOTEMPTY):
        raise ExportLayoutError(
            f"{final} appeared while publishing: something wrote into {model_dir} without "
            "common.export (which holds .publish.lock); export again to take the next "
            "version") from e
      raise
    _fsync_path(model_dir)
  return final
