"""Every loaded version's `CatalogAssets`: built outside any lock, published by a swap.

Requests look a version's assets up in a dict that is replaced, never mutated, so
the lookup takes no lock and never waits for another version's catalogue to load
(`np.load` of the embeddings plus a dict of every item id: seconds at 1M items).
Building happens in the caller's thread (the version watcher's, when a version
loads) with only a per-version marker held, so a second caller of the same version
waits for that one build instead of starting another, and callers of other versions
do not wait at all. `retain(versions)` drops (and `release`s) the assets of versions
the server unloaded, so a hot-reloaded catalogue does not stay in memory.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # type names only: this module needs neither TensorFlow nor faiss
  from serving.core.servable import Servable
  from serving.recommendation.catalog_assets import CatalogAssets

log = logging.getLogger(__name__)


class VersionCatalogs:
  """version -> CatalogAssets, with `build(servable)` making a missing one.

  `is_loaded(version)` says whether the server still serves a version: assets built
  for a version unloaded meanwhile go to the caller but are not kept.
  """

  def __init__(self, build: Callable[[Servable], CatalogAssets],
               is_loaded: Callable[[int], bool] = lambda version: True):
    self._build = build
    self._is_loaded = is_loaded
    self._lock = threading.Lock()  # held only to swap the dicts below, never while building
    self._published: dict[int, CatalogAssets] = {}  # replaced as a whole, read without the lock
    self._building: dict[int, concurrent.futures.Future] = {}

  def get(self, servable: Servable) -> CatalogAssets:
    """The version's assets, building them first if needed (raises what `build` raises)."""
    found = self._published.get(servable.version)
    if found is not None:
      return found
    version = servable.version
    with self._lock:
      found = self._published.get(version)
      if found is not None:
        return found
      future = self._building.get(version)
      owner = future is None
      if owner:
        future = self._building[version] = concurrent.futures.Future()
    if not owner:
      return future.result()
    try:
      assets = self._build(servable)
    except BaseException as e:
      with self._lock:
        del self._building[version]
      future.set_exception(e)
      raise
    with self._lock:  # checked under the lock, so a `retain` after an unload sees what we publish
      del self._building[version]
      keep = self._is_loaded(version)
      if keep:
        self._published = {**self._published, version: assets}
    future.set_result(assets)
    if not keep:
      assets.release()
      return assets
    log.info("recsys version %d: %d items, index %s", version, len(assets), assets.index_status)
    return assets

  def published(self, version: int) -> CatalogAssets | None:
    """The assets if they are built, else None (never builds, never waits)."""
    return self._published.get(version)

  def items(self) -> list[tuple[int, CatalogAssets]]:
    return sorted(self._published.items())

  def retain(self, versions: Iterable[int]) -> list[int]:
    """Drops and releases the assets of every version not in `versions`; returns those versions."""
    keep = set(versions)
    with self._lock:
      dropped = {v: a for v, a in self._published.items() if v not in keep}
      if dropped:
        self._published = {v: a for v, a in self._published.items() if v in keep}
    for version, assets in sorted(dropped.items()):
      assets.release()
      log.info("recsys version %d unloaded: its catalogue assets are released", version)
    return sorted(dropped)
