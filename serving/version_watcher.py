"""Polls the export root and loads, swaps and unloads model versions.

Exports appear atomically (`common.export` writes a temporary directory and
renames it to `<export_root>/<name>/<version>`), so a new integer directory is a
complete export or a broken one, never a half-written one. Each poll:

1. lists the integer version directories of every served model;
2. picks the versions the policy wants (the newest N, or pinned numbers),
   skipping versions that already failed to load;
3. loads and warms up each wanted version that is not loaded yet, in this
   thread, while the current version keeps answering;
4. only then retires versions the policy no longer wants.

So a new version replaces the old one only after it has loaded and warmed up,
and a broken one is reported in model status (END with the error) while the
previous version keeps serving.
"""

import dataclasses
import logging
import pathlib
import threading
from collections.abc import Callable, Sequence

from serving import model_registry
from serving import servable as servable_lib
from serving.model_registry import ModelRegistry

log = logging.getLogger(__name__)


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


def list_versions(model_dir: pathlib.Path) -> list[int]:
  """Integer-named subdirectories (temporary export dirs have other names)."""
  if not model_dir.is_dir():
    return []
  return sorted(int(d.name) for d in model_dir.iterdir() if d.name.isdigit() and d.is_dir())


class VersionWatcher:
  """Keeps the registry in line with the export root and the version policy."""

  def __init__(self, export_root: pathlib.Path, registry: ModelRegistry, *,
               model_names: Sequence[str] | None = None, policy: VersionPolicy = VersionPolicy(),
               poll_seconds: float = 2.0,
               on_unload: Callable[[servable_lib.Servable], None] = lambda s: None,
               loader: Callable[[str, int, pathlib.Path], servable_lib.Servable] = servable_lib.load):
    self.export_root = pathlib.Path(export_root)
    self.registry = registry
    self.model_names = list(model_names) if model_names else None
    self.policy = policy
    self.poll_seconds = poll_seconds
    self._on_unload = on_unload
    self._loader = loader
    self._failed: dict[str, set[int]] = {}
    self._stop = threading.Event()
    self._thread: threading.Thread | None = None

  def discover(self) -> list[str]:
    """Model names to serve: the requested ones, or every model dir with versions."""
    if self.model_names is not None:
      return self.model_names
    if not self.export_root.is_dir():
      return []
    return sorted(d.name for d in self.export_root.iterdir()
                  if d.is_dir() and not d.name.startswith(".") and list_versions(d))

  def poll_once(self) -> None:
    for name in self.discover():
      try:
        self._sync_model(name)
      except Exception:  # one model's trouble must not stop the others
        log.exception("version poll of model %s failed", name)

  def _sync_model(self, name: str) -> None:
    on_disk = list_versions(self.export_root / name)
    failed = self._failed.setdefault(name, set())
    self.registry.add_model(name)
    wanted = self.policy.wanted(name, on_disk, failed)
    available = set(self.registry.available_versions(name))
    for version in sorted(set(wanted) - available, reverse=True):
      self._load(name, version)
    available = set(self.registry.available_versions(name))
    # Keep what the policy wants; if a wanted version failed, the newest
    # available ones stand in for it, so a broken export never leaves a gap.
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

  def _load(self, name: str, version: int) -> None:
    path = self.export_root / name / str(version)
    self.registry.set_status(name, version, model_registry.LOADING)
    try:
      servable = self._loader(name, version, path)
      warmups = servable_lib.warm_up(servable)
    except Exception as e:  # any failure leaves the version unservable
      error = str(e) if isinstance(e, servable_lib.LoadError) else f"{type(e).__name__}: {e}"
      self._failed[name].add(version)
      self.registry.set_status(name, version, model_registry.END, error)
      log.error("model version failed to load; previous version keeps serving",
                extra={"model": name, "version": version, "error": error})
      return
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
