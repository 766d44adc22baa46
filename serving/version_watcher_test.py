"""Version policy and loading: newest loadable versions, pins, broken exports never win."""

import pathlib

import numpy as np
import pytest

from serving import model_registry, test_models
from serving.model_registry import ModelRegistry
from serving.version_watcher import VersionPolicy, VersionWatcher, list_versions


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
  test_models.publish_affine(root, 1)
  test_models.publish_affine(root, 2)
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
  test_models.publish_corrupt(root, "affine", 3)
  watcher.poll_once()
  assert _answer(registry) == (2, 6.0)
  statuses = {s.version: s for s in registry.statuses("affine")}
  assert statuses[1].state == model_registry.END and not statuses[1].error
  assert statuses[2].state == model_registry.AVAILABLE
  assert statuses[3].state == model_registry.END
  assert "cannot load SavedModel" in statuses[3].error
  watcher.poll_once()  # a failed version is not retried on every poll
  assert registry.statuses("affine")[-1].state == model_registry.END
