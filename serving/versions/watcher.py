"""Polls the export root and loads, swaps and unloads model versions.

The export root is any filesystem TensorFlow knows (a local folder, `gs://`,
`ram://`): it is read only through `tf.io.gfile`. On an object store a version
directory is not renamed into place atomically: its files appear one by one
(saved_model.pb first, variables seconds later). So a version is loaded only
once it is complete:

* a trellis export writes `assets.extra/metadata.json` last, so a version that
  has it is complete;
* a version without it (a stock TF Serving export) is complete once its listing
  (file names and sizes) has not changed for one poll: a quiet period.

Each poll:

1. lists the version directories of every served model; a name that is not a
   valid int64 (e.g. `20261204225400123456`) is ignored with a logged error, so
   it can never retire a working version;
2. picks the versions the policy wants (the newest N, or pinned numbers),
   skipping versions that failed to load and have not changed since;
3. loads and warms up each wanted, complete version that is not loaded yet, in
   this thread, while the current version keeps answering;
4. only then retires versions the policy no longer wants.

A version that failed to load is END with the error in model status while the
previous version keeps serving. As in TF Serving, the load is retried, with
exponential backoff, once the version's files change (a copy that was still
in progress when the load ran), and not while they stay the same.
"""

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence

import tensorflow as tf

from serving.core import model_registry
from serving.core import servable as servable_lib
from serving.core.model_registry import ModelRegistry

log = logging.getLogger(__name__)

INT64_MAX = 2**63 - 1
MAX_RETRY_BACKOFF_SECONDS = 300.0

# (path relative to the version directory, size in bytes), sorted.
Listing = tuple[tuple[str, int], ...]


@dataclasses.dataclass(frozen=True)
class VersionPolicy:
  """Which versions of a model to serve.

  Attributes:
    num_latest: serve the newest `num_latest` loadable versions (TF Serving's
      `latest` policy); ignored for models listed in `pinned`.
    pinned: model name -> the exact versions to serve (TF Serving's `specific`).
  """

  num_latest: int = 1
  pinned: dict[str, tuple[int, ...]] = dataclasses.field(default_factory=dict)

  def __post_init__(self):
    if self.num_latest < 1:
      raise ValueError(f"num_latest must be >= 1, got {self.num_latest}")

  def wanted(self, name: str, on_disk: Sequence[int], failed: set[int]) -> list[int]:
    if name in self.pinned:
      return [v for v in self.pinned[name] if v in on_disk and v not in failed]
    loadable = [v for v in sorted(on_disk, reverse=True) if v not in failed]
    return loadable[: self.num_latest]


def join(root, name: str) -> str:
  """`root/name` for any filesystem URL (pathlib would turn `gs://b` into `gs:/b`)."""
  return f"{str(root).rstrip('/')}/{name}"


def _children(path: str) -> list[str]:
  """Names in a directory ([] when it does not exist); object stores mark folders with '/'."""
  if not tf.io.gfile.isdir(path):
    return []
  return [name.rstrip("/") for name in tf.io.gfile.listdir(path)]


def scan_versions(model_dir) -> tuple[list[int], list[str]]:
  """(the version numbers under `model_dir`, the digit-named entries that are not valid int64s).

  Other names (temporary export directories, notes) are not versions and are skipped.
  """
  versions, invalid = [], []
  for name in _children(str(model_dir)):
    if not (name.isdigit() and name.isascii()):
      continue
    if int(name) > INT64_MAX:
      invalid.append(name)
    elif tf.io.gfile.isdir(join(model_dir, name)):
      versions.append(int(name))
  return sorted(versions), sorted(invalid)


def list_versions(model_dir) -> list[int]:
  """The valid version numbers under `model_dir`."""
  return scan_versions(model_dir)[0]


def listing(version_dir: str) -> Listing:
  """Every file under a version directory with its size (what changes while a copy runs)."""
  out = []
  prefix = version_dir.rstrip("/") + "/"
  for folder, _, files in tf.io.gfile.walk(version_dir):
    for name in files:
      path = join(folder, name.rstrip("/"))
      try:
        size = tf.io.gfile.stat(path).length
      except tf.errors.NotFoundError:  # removed between listing and stat: the copy is moving
        size = -1
      out.append((path.removeprefix(prefix), size))
  return tuple(sorted(out))


@dataclasses.dataclass
class _Failure:
  listing: Listing  # the files as they were when the load failed
  attempts: int
  retry_at: float  # clock time before which a changed version is not retried


class VersionWatcher:
  """Keeps the registry in line with the export root and the version policy."""

  def __init__(self, export_root, registry: ModelRegistry, *,
               model_names: Sequence[str] | None = None, policy: VersionPolicy = VersionPolicy(),
               poll_seconds: float = 2.0,
               on_unload: Callable[[servable_lib.Servable], None] = lambda s: None,
               loader: Callable[[str, int, str], servable_lib.Servable] = servable_lib.load,
               initial_quiet_seconds: float = 1.0,
               clock: Callable[[], float] = time.monotonic):
    """See the module docstring.

    Args:
      export_root: local path or filesystem URL (gs://, ram://) of `<model>/<version>/` exports.
      initial_quiet_seconds: on the first poll (the synchronous load at start), how long to
        wait before listing a version without metadata.json again to see that it is complete.
      clock: time source for retry backoff (tests pass a fake one).
    """
    self.export_root = str(export_root)
    self.registry = registry
    self.model_names = list(model_names) if model_names else None
    self.policy = policy
    self.poll_seconds = poll_seconds
    self._on_unload = on_unload
    self._loader = loader
    self._initial_quiet_seconds = initial_quiet_seconds
    self._clock = clock
    self._failed: dict[str, dict[int, _Failure]] = {}
    self._pending: dict[str, dict[int, Listing]] = {}  # incomplete versions: last poll's listing
    self._reported_invalid: set[tuple[str, str]] = set()
    self._polls = 0
    self._stop = threading.Event()
    self._thread: threading.Thread | None = None

  def discover(self) -> list[str]:
    """Model names to serve: the requested ones, or every model dir with versions."""
    if self.model_names is not None:
      return self.model_names
    return sorted(name for name in _children(self.export_root)
                  if not name.startswith(".") and list_versions(join(self.export_root, name)))

  def poll_once(self) -> None:
    self._poll()
    self._polls += 1
    if self._polls == 1 and any(self._pending.values()):
      # The synchronous first poll: a stock export has no metadata.json to say it is
      # complete, so look again after a quiet period rather than one poll later.
      self._stop.wait(self._initial_quiet_seconds)
      self._poll()

  def _poll(self) -> None:
    for name in self.discover():
      try:
        self._sync_model(name)
      except Exception:  # one model's trouble must not stop the others
        log.exception("version poll of model %s failed", name)

  def _sync_model(self, name: str) -> None:
    model_dir = join(self.export_root, name)
    on_disk, invalid = scan_versions(model_dir)
    for bad in invalid:
      if (name, bad) not in self._reported_invalid:
        self._reported_invalid.add((name, bad))
        log.error("ignoring version directory %s: version numbers are int64 (at most %d); rename "
                  "it to a smaller number", join(model_dir, bad), INT64_MAX)
    self.registry.add_model(name)
    failed = self._failed.setdefault(name, {})
    pending = self._pending.setdefault(name, {})
    for version in set(failed) | set(pending):
      if version not in on_disk:  # deleted: forget it
        failed.pop(version, None)
        pending.pop(version, None)
    available = set(self.registry.available_versions(name))
    listings = {}
    for version in set(failed) - available:
      listings[version] = listing(join(model_dir, str(version)))
    blocked = {v for v, f in failed.items()
               if v not in available and (listings[v] == f.listing or self._clock() < f.retry_at)}
    for version in blocked:  # changed but backing off: its quiet period runs meanwhile
      if listings[version] != failed[version].listing:
        pending[version] = listings[version]
    wanted = self.policy.wanted(name, on_disk, blocked)
    for version in sorted(set(wanted) - available, reverse=True):
      files = listings.get(version) or listing(join(model_dir, str(version)))
      if self._complete(name, version, files):
        self._load(name, version, files)
    available = set(self.registry.available_versions(name))
    # Keep what the policy wants; if a wanted version failed or is still arriving, the
    # newest available ones stand in for it, so a broken export never leaves a gap.
    keep = set(wanted) & available
    if name not in self.policy.pinned:
      spare = self.policy.num_latest - len(keep)
      standby = sorted((v for v in available - keep if v in on_disk), reverse=True)
      keep |= set(standby[: max(spare, 0)])
    for version in sorted(available - keep):
      self.registry.set_status(name, version, model_registry.UNLOADING)
      servable = self.registry.unload(name, version)
      if servable is not None:
        self._on_unload(servable)
      log.info("unloaded model version", extra={"model": name, "version": version})

  def _complete(self, name: str, version: int, files: Listing) -> bool:
    """metadata.json present, or the listing unchanged since the last poll (see module doc)."""
    pending = self._pending[name]
    if any(path == servable_lib.METADATA_FILE for path, _ in files):
      pending.pop(version, None)
      return True
    if files and pending.get(version) == files:
      pending.pop(version, None)
      return True
    if version not in pending and not self.registry.attempted(name, version):
      self.registry.set_status(name, version, model_registry.START)
    pending[version] = files
    return False

  def _load(self, name: str, version: int, files: Listing) -> None:
    path = join(join(self.export_root, name), str(version))
    self.registry.set_status(name, version, model_registry.LOADING)
    try:
      servable = self._loader(name, version, path)
      warmups = servable_lib.warm_up(servable)
    except Exception as e:  # any failure leaves the version unservable
      error = str(e) if isinstance(e, servable_lib.LoadError) else f"{type(e).__name__}: {e}"
      previous = self._failed[name].get(version)
      attempts = previous.attempts + 1 if previous else 1
      backoff = min(max(self.poll_seconds, 1.0) * 2 ** (attempts - 1), MAX_RETRY_BACKOFF_SECONDS)
      self._failed[name][version] = _Failure(files, attempts, self._clock() + backoff)
      self.registry.set_status(name, version, model_registry.END, error)
      log.error("model version failed to load; previous version keeps serving; retried when "
                "its files change", extra={"model": name, "version": version, "error": error,
                                           "attempts": attempts})
      return
    self._failed[name].pop(version, None)
    self.registry.make_available(servable)
    log.info("model version available", extra={
        "model": name, "version": version, "signatures": sorted(servable.signatures),
        "warmup_requests": warmups})

  def start_polling(self) -> None:
    """Polls in a background thread (call `poll_once` first to load synchronously)."""
    self._thread = threading.Thread(target=self._run, name="version-watcher", daemon=True)
    self._thread.start()

  def _run(self) -> None:
    while not self._stop.wait(self.poll_seconds):
      self.poll_once()

  def stop(self) -> None:
    self._stop.set()
    if self._thread is not None:
      self._thread.join()
