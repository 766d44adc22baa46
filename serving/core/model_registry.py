"""Which model versions exist, their load state, and which ones answer requests.

The registry is the server's single source of truth. The version watcher writes
to it (a version starts loading, became available, failed, was unloaded); the
request paths read from it (`resolve` a model spec to a loaded `Servable`).
Swapping the serving version is one assignment under a lock, so a request sees
either the old version or the new one, never a half-loaded model; a request that
already holds the old `Servable` finishes on it.

States follow TensorFlow Serving's `ModelVersionStatus.State`:
START -> LOADING -> AVAILABLE -> UNLOADING -> END; a version that failed to load
is END with an error message.
"""

import dataclasses
import threading
from collections.abc import Callable

from serving.core import errors
from serving.core.servable import Servable

START, LOADING, AVAILABLE, UNLOADING, END = "START", "LOADING", "AVAILABLE", "UNLOADING", "END"


@dataclasses.dataclass(frozen=True)
class VersionStatus:
  version: int
  state: str
  error: str = ""  # non-empty when the version failed to load


class ModelRegistry:
  """Thread-safe map of model name -> {version: status} and the loaded versions."""

  def __init__(self):
    self._lock = threading.Lock()
    self._status: dict[str, dict[int, VersionStatus]] = {}
    self._servables: dict[str, dict[int, Servable]] = {}
    self._listeners: list[Callable[[str], None]] = []

  def add_listener(self, fn: Callable[[str], None]) -> None:
    """`fn(model_name)` is called after any change to that model's versions."""
    self._listeners.append(fn)

  def _notify(self, name: str) -> None:
    for fn in self._listeners:
      fn(name)

  def add_model(self, name: str) -> None:
    """Makes a model known (requests get UNAVAILABLE, not NOT_FOUND, until it loads)."""
    with self._lock:
      if name in self._status:
        return
      self._status[name] = {}
      self._servables[name] = {}
    self._notify(name)

  def set_status(self, name: str, version: int, state: str, error: str = "") -> None:
    with self._lock:
      self._status.setdefault(name, {})[version] = VersionStatus(version, state, error)
      self._servables.setdefault(name, {})
    self._notify(name)

  def make_available(self, servable: Servable) -> None:
    with self._lock:
      self._servables.setdefault(servable.name, {})[servable.version] = servable
      self._status.setdefault(servable.name, {})[servable.version] = VersionStatus(
          servable.version, AVAILABLE)
    self._notify(servable.name)

  def unload(self, name: str, version: int) -> Servable | None:
    """Stops routing to a version; in-flight requests keep their reference."""
    with self._lock:
      servable = self._servables.get(name, {}).pop(version, None)
      self._status.setdefault(name, {})[version] = VersionStatus(version, END)
    self._notify(name)
    return servable

  def model_names(self) -> list[str]:
    with self._lock:
      return sorted(self._status)

  def available_versions(self, name: str) -> list[int]:
    with self._lock:
      return sorted(self._servables.get(name, {}))

  def statuses(self, name: str) -> list[VersionStatus]:
    with self._lock:
      return [s for _, s in sorted(self._status.get(name, {}).items())]

  def attempted(self, name: str, version: int) -> bool:
    with self._lock:
      return version in self._status.get(name, {})

  def resolve(self, name: str, version: int | None = None) -> Servable:
    """The servable for a model spec: a pinned version, else the newest available.

    Raises:
      ServingError(NOT_FOUND) naming the models or versions that do exist.
    """
    with self._lock:
      if name not in self._status:
        known = sorted(self._status) or "none"
        raise errors.not_found(
            f"model {name!r} is not served; served models: {known}. Check the name, or that "
            f"<export_root>/{name}/<version>/saved_model.pb exists")
      servables = self._servables[name]
      if version is None:
        if not servables:
          detail = "; ".join(f"v{s.version} {s.state} {s.error}".strip()
                             for s in self._status[name].values())
          raise errors.unavailable(
              f"model {name!r} has no available version yet ({detail or 'none found'}); "
              "retry after it loads, see GET /v1/models/" + name)
        return servables[max(servables)]
      if version not in servables:
        status = self._status[name].get(version)
        why = f" (state {status.state}{': ' + status.error if status.error else ''})" if status else ""
        raise errors.not_found(
            f"model {name!r} version {version} is not available{why}; available versions: "
            f"{sorted(servables) or 'none'}. Omit the version for the latest")
      return servables[version]
