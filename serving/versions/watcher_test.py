"""Version policy and loading: newest loadable versions, pins, broken exports never win."""

import pathlib

import numpy as np
import pytest
import tensorflow as tf

from serving.core import model_registry
from serving.core.model_registry import ModelRegistry
from serving.testing import models
from serving.versions.watcher import VersionPolicy, VersionWatcher, list_versions


@pytest.mark.parametrize("policy, on_disk, failed, wanted", [
    (VersionPolicy(), [1, 2, 3], set(), [3]),
    (VersionPolicy(), [1, 2, 3], {3}, [2]),          # broken v3: v2 stands in
    (VersionPolicy(num_latest=2), [1, 2, 3], set(), [3, 2]),
    (VersionPolicy(pinned={"m": (1, 5)}), [1, 2, 3], set(), [1]),  # v5 not exported (yet)
])
def test_policy(policy, on_disk, failed, wanted):
  assert policy.wanted("m", on_disk, failed) == wanted


def test_policy_rejects_zero_versions():
  with pytest.raises(ValueError, match="num_latest must be >= 1"):
    VersionPolicy(num_latest=0)


def test_temporary_dirs_are_not_versions(tmp_path):
  for name in ("1", "2", ".tmp-abc", "notes"):
    (tmp_path / name).mkdir()
  assert list_versions(tmp_path) == [1, 2]


@pytest.fixture(scope="module")
def export_root(tmp_path_factory) -> pathlib.Path:
  root = tmp_path_factory.mktemp("exports")
  models.publish_affine(root, 1)
  models.publish_affine(root, 2)
  return root


def _answer(registry, version=None):
  servable = registry.resolve("affine", version)
  sig = servable.signatures["serving_default"]
  return servable.version, sig.run({"x": np.ones((1, 3), np.float32)})["total"][0]


def test_loads_latest_then_swaps_and_keeps_serving_over_a_broken_version(export_root, tmp_path):
  root = tmp_path / "root"
  (root / "affine").mkdir(parents=True)
  (export_root / "affine" / "1").rename(root / "affine" / "1")  # module fixture: move, not copy
  registry = ModelRegistry()
  unloaded = []
  watcher = VersionWatcher(root, registry, on_unload=unloaded.append)
  watcher.poll_once()
  assert _answer(registry) == (1, 3.0)
  (export_root / "affine" / "2").rename(root / "affine" / "2")
  watcher.poll_once()
  assert _answer(registry) == (2, 6.0)
  assert [s.version for s in unloaded] == [1]
  models.publish_corrupt(root, "affine", 3)
  watcher.poll_once()
  assert _answer(registry) == (2, 6.0)
  statuses = {s.version: s for s in registry.statuses("affine")}
  assert statuses[1].state == model_registry.END and not statuses[1].error
  assert statuses[2].state == model_registry.AVAILABLE
  assert statuses[3].state == model_registry.END
  assert "cannot load SavedModel" in statuses[3].error
  watcher.poll_once()  # a failed version is not retried on every poll
  assert registry.statuses("affine")[-1].state == model_registry.END


def _copy_tree(src: pathlib.Path, dst: str, only=lambda rel: True) -> None:
  """Copies a local version directory to any filesystem URL, file by file (as an upload does)."""
  for f in sorted(src.rglob("*")):
    rel = f.relative_to(src).as_posix()
    if f.is_file() and only(rel):
      target = f"{dst}/{rel}"
      tf.io.gfile.makedirs(target.rsplit("/", 1)[0])
      tf.io.gfile.copy(str(f), target, overwrite=True)


@pytest.fixture(scope="module")
def one_export(tmp_path_factory) -> pathlib.Path:
  """A published affine version 2 (answers 6.0 on ones) to copy around."""
  root = tmp_path_factory.mktemp("one")
  return models.publish_affine(root, 2)


def test_a_version_number_above_int64_is_ignored_and_never_retires_the_served_one(
    one_export, tmp_path, caplog):
  root = tmp_path / "root"
  _copy_tree(one_export, str(root / "affine" / "2"))
  registry = ModelRegistry()
  watcher = VersionWatcher(root, registry)
  watcher.poll_once()
  _copy_tree(one_export, str(root / "affine" / "20261204225400123456"))
  (root / "affine" / "9223372036854775808").mkdir()  # 2**63: one above the largest int64
  watcher.poll_once()
  watcher.poll_once()
  assert _answer(registry) == (2, 6.0)
  assert [(s.version, s.state) for s in registry.statuses("affine")] == [(2, "AVAILABLE")]
  errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
  assert len(errors) == 2 and all("int64" in e for e in errors)  # once per directory, not per poll
  assert list_versions(root / "affine") == [2]


def test_a_stock_export_copied_non_atomically_is_served_once_complete(one_export, tmp_path):
  """No metadata.json: loaded after a quiet poll; a load of a half copy is retried on change."""
  root = tmp_path / "root"
  (root / "affine").mkdir(parents=True)
  now = [0.0]
  registry = ModelRegistry()
  watcher = VersionWatcher(root, registry, poll_seconds=2.0, initial_quiet_seconds=0,
                           clock=lambda: now[0])
  target = str(root / "affine" / "2")
  stock = lambda rel: not rel.startswith("assets.extra")  # noqa: E731 -- what TF Serving exports
  _copy_tree(one_export, target, only=lambda rel: rel == "saved_model.pb")
  watcher.poll_once()  # first poll: seen twice (quiet period), so loaded, and fails
  statuses = registry.statuses("affine")
  assert statuses[-1].state == model_registry.END and "cannot load SavedModel" in statuses[-1].error
  watcher.poll_once()
  assert registry.available_versions("affine") == []  # unchanged files: not retried
  _copy_tree(one_export, target, only=lambda rel: stock(rel) and rel != "saved_model.pb")
  watcher.poll_once()  # files changed: waits one quiet poll (and the backoff)
  assert registry.available_versions("affine") == []
  now[0] += 10
  watcher.poll_once()
  assert _answer(registry) == (2, 6.0)
  assert registry.statuses("affine")[-1].state == model_registry.AVAILABLE


def test_a_trellis_export_is_loaded_as_soon_as_metadata_json_arrives(one_export, tmp_path):
  """metadata.json is written last: with it the version is complete, without a quiet poll."""
  root = tmp_path / "root"
  _copy_tree(one_export, str(root / "affine" / "1"))
  registry = ModelRegistry()
  watcher = VersionWatcher(root, registry, initial_quiet_seconds=0)
  watcher.poll_once()
  target = str(root / "affine" / "2")
  _copy_tree(one_export, target, only=lambda rel: rel == "saved_model.pb")
  watcher.poll_once()  # a half copy, seen once: not loaded
  assert registry.available_versions("affine") == [1]
  assert registry.statuses("affine")[-1].state == model_registry.START
  _copy_tree(one_export, target, only=lambda rel: rel != "saved_model.pb")
  watcher.poll_once()  # changed since the last poll, but complete: metadata.json is there
  assert _answer(registry) == (2, 6.0) and registry.available_versions("affine") == [2]


def test_export_root_on_a_non_local_filesystem(one_export):
  root = "ram://version_watcher_test/exports"
  _copy_tree(one_export, f"{root}/affine/2")
  registry = ModelRegistry()
  VersionWatcher(root, registry, initial_quiet_seconds=0).poll_once()
  assert _answer(registry) == (2, 6.0)
  assert registry.resolve("affine").path == f"{root}/affine/2"
