"""Atomic, collision-free version publishing (no TensorFlow needed)."""

import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from common.export import versions


def _stage(model_dir, text):
  staging = versions.make_staging_dir(model_dir)
  (staging / "saved_model.pb").write_text(text)
  return staging


def _child_env():
  return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


def test_versions_count_up_from_one_and_staging_is_hidden(tmp_path):
  model_dir = tmp_path / "m"
  first = versions.publish(_stage(model_dir, "a"), model_dir)
  second = versions.publish(_stage(model_dir, "b"), model_dir)
  assert (first.name, second.name) == ("1", "2")
  assert versions.list_versions(model_dir) == [1, 2]
  assert (second / "saved_model.pb").read_text() == "b"
  # Only the lock file remains besides the versions: no staging left behind.
  assert sorted(p.name for p in model_dir.iterdir()) == [".publish.lock", "1", "2"]


def test_explicit_version_is_never_overwritten(tmp_path):
  model_dir = tmp_path / "m"
  versions.publish(_stage(model_dir, "a"), model_dir, version=7)
  assert versions.list_versions(model_dir) == [7]
  with pytest.raises(versions.ExportLayoutError, match=r"version 7 .* already exists"):
    versions.publish(_stage(model_dir, "b"), model_dir, version=7)
  assert versions.publish(_stage(model_dir, "c"), model_dir).name == "8"


def test_before_rename_sees_the_number_and_writes_into_the_version(tmp_path):
  model_dir = tmp_path / "m"
  final = versions.publish(_stage(model_dir, "a"), model_dir,
                           before_rename=lambda v, d: (d / "v.txt").write_text(str(v)))
  assert (final / "v.txt").read_text() == "1"


def test_staging_outside_model_dir_is_refused(tmp_path):
  (tmp_path / "elsewhere").mkdir()
  with pytest.raises(versions.ExportLayoutError, match="must be inside"):
    versions.publish(tmp_path / "elsewhere", tmp_path / "m")


def test_resolve_model_dir_to_newest_and_errors(tmp_path):
  model_dir = tmp_path / "m"
  for text in "ab":
    versions.publish(_stage(model_dir, text), model_dir)
  assert versions.resolve(model_dir) == model_dir / "2"
  assert versions.resolve(model_dir / "1") == model_dir / "1"
  with pytest.raises(versions.ExportLayoutError, match="does not exist"):
    versions.resolve(tmp_path / "nope")
  with pytest.raises(versions.ExportLayoutError, match="export root holding the models m; pass"):
    versions.resolve(tmp_path)
  (tmp_path / "empty").mkdir()
  with pytest.raises(versions.ExportLayoutError, match="neither a version directory"):
    versions.resolve(tmp_path / "empty")


def test_killed_exporter_leaves_no_visible_version(tmp_path):
  # A child stages a full version, then is SIGKILLed just before the rename.
  model_dir = tmp_path / "m"
  script = textwrap.dedent(f"""
      import os, signal
      from common.export import versions
      staging = versions.make_staging_dir({str(model_dir)!r})
      (staging / "saved_model.pb").write_text("x" * 100000)
      versions.publish(staging, {str(model_dir)!r},
                       before_rename=lambda v, d: os.kill(os.getpid(), signal.SIGKILL))
  """)
  proc = subprocess.run([sys.executable, "-c", script], env=_child_env(), check=False)
  assert proc.returncode == -signal.SIGKILL
  assert versions.list_versions(model_dir) == []
  leftovers = [p for p in model_dir.iterdir() if p.name.startswith(versions.STAGING_PREFIX)]
  assert len(leftovers) == 1  # hidden: TF Serving only loads integer names
  # The next export is unaffected, and cleanup removes the leftover once old enough.
  assert versions.publish(_stage(model_dir, "ok"), model_dir).name == "1"
  assert versions.remove_stale_staging(model_dir, max_age_seconds=3600) == []
  old = time.time() - 7200
  os.utime(leftovers[0], (old, old))
  assert versions.remove_stale_staging(model_dir, max_age_seconds=3600) == leftovers


def test_concurrent_exporters_get_distinct_versions(tmp_path):
  # 4 processes x 10 publishes race on one model dir: 40 distinct versions, none lost.
  model_dir = tmp_path / "m"
  script = textwrap.dedent("""
      import sys
      from common.export import versions
      model_dir, writer = sys.argv[1], sys.argv[2]
      for i in range(10):
        staging = versions.make_staging_dir(model_dir)
        (staging / "saved_model.pb").write_text(f"{writer}-{i}")
        versions.publish(staging, model_dir)
  """)
  procs = [subprocess.Popen([sys.executable, "-c", script, str(model_dir), f"w{w}"],
                            env=_child_env()) for w in range(4)]
  assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
  assert versions.list_versions(model_dir) == list(range(1, 41))
  contents = {(model_dir / str(v) / "saved_model.pb").read_text() for v in range(1, 41)}
  assert contents == {f"w{w}-{i}" for w in range(4) for i in range(10)}
  assert not [p for p in pathlib.Path(model_dir).iterdir()
              if p.name.startswith(versions.STAGING_PREFIX)]
