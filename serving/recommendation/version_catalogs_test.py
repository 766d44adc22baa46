"""VersionCatalogs builds outside its lock, builds each version once, and releases unloaded ones."""

import gc
import threading
import time
import types
import weakref

import pytest

from serving.recommendation.version_catalogs import VersionCatalogs


class _Assets:
  def __init__(self, version):
    self.version = version
    self.index_status = "exact"
    self.index_ready = threading.Event()
    self.index_ready.set()
    self.released = False

  def __len__(self):
    return 1

  def release(self):
    self.released = True


def _servable(version):
  return types.SimpleNamespace(version=version)


def test_a_slow_build_does_not_delay_other_versions_and_runs_once():
  gate, started, builds = threading.Event(), threading.Event(), []

  def build(servable):
    builds.append(servable.version)
    if servable.version == 2:
      started.set()
      assert gate.wait(30)
    return _Assets(servable.version)

  catalogs = VersionCatalogs(build)
  v1 = catalogs.get(_servable(1))
  results = []
  waiters = [threading.Thread(target=lambda: results.append(catalogs.get(_servable(2))))
             for _ in range(3)]
  for t in waiters:
    t.start()
  assert started.wait(30)
  t0 = time.perf_counter()
  for _ in range(1000):  # while version 2 builds, version 1 is a lock-free lookup
    assert catalogs.get(_servable(1)) is v1
  assert time.perf_counter() - t0 < 1.0
  assert catalogs.published(2) is None and [v for v, _ in catalogs.items()] == [1]
  gate.set()
  for t in waiters:
    t.join(30)
  assert builds == [1, 2]  # three callers, one build
  assert len(results) == 3 and all(r is results[0] for r in results)
  assert catalogs.published(2) is results[0]


def test_a_failed_build_reaches_every_waiter_and_is_retried():
  calls = []

  def build(servable):
    calls.append(servable.version)
    if len(calls) == 1:
      raise ValueError("not a recsys export")
    return _Assets(servable.version)

  catalogs = VersionCatalogs(build)
  with pytest.raises(ValueError, match="not a recsys export"):
    catalogs.get(_servable(1))
  assert catalogs.get(_servable(1)).version == 1 and calls == [1, 1]


def test_retain_releases_unloaded_versions_and_frees_them():
  loaded = {1, 2}
  catalogs = VersionCatalogs(lambda s: _Assets(s.version), is_loaded=lambda v: v in loaded)
  catalogs.get(_servable(1))
  catalogs.get(_servable(2))
  old = catalogs.published(1)
  ref = weakref.ref(old)
  loaded.discard(1)
  assert catalogs.retain(loaded) == [1]
  assert old.released and catalogs.published(1) is None and [v for v, _ in catalogs.items()] == [2]
  del old
  gc.collect()
  assert ref() is None  # nothing else holds an unloaded version's catalogue
  # A build that finishes after its version was unloaded is handed back but not kept.
  late = catalogs.get(_servable(1))
  assert late.released and catalogs.published(1) is None
