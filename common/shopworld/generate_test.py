"""generate: the tool writes a world and prints a readable summary; bad flags are explained."""

import pathlib
import subprocess
import sys

import pytest
from absl import app, flags

from common.shopworld import generate, world


def _run(*args):
  return subprocess.run([sys.executable, generate.__file__, *args], capture_output=True, text=True,
                        env={"PYTHONPATH": ":".join(sys.path), "TF_CPP_MIN_LOG_LEVEL": "2",
                             "PYTHONHASHSEED": "12345"},
                        check=False)


def test_writes_and_summarises(tmp_path):
  # One end-to-end run as a separate process, the way `make demo` calls the tool.
  result = _run(f"--out_dir={tmp_path}", "--seed=3", "--size=tiny")
  assert result.returncode == 0, result.stderr
  out = result.stdout
  assert "seed=3  size=tiny" in out and "300 items" in out and "150 users" in out
  assert "2022-01-01 .. 2023-02-04" in out  # demand date range of the tiny world (400 days)
  assert "garden" in out and "generated in" in out
  # Another process wrote it, with its own PYTHONHASHSEED: the bytes must still be ours.
  here = pathlib.Path(
      world.generate(seed=3, size="tiny").write(tmp_path.parent / f"{tmp_path.name}_here"))
  for name in ("items.csv", "interactions.csv", "demand.csv", "images.tfrecord", "truth.json"):
    assert (tmp_path / name).read_bytes() == (here / name).read_bytes(), name


def test_existing_world_needs_overwrite(tmp_path):
  (tmp_path / "items.csv").write_text("old")
  generate.FLAGS([__file__, f"--out_dir={tmp_path}", "--size=tiny"])
  with pytest.raises(app.UsageError, match="--overwrite"):
    generate.main([])


def test_unknown_size_is_rejected(tmp_path):
  with pytest.raises(flags.IllegalFlagValueError, match=r"<medium\|small\|tiny>"):
    generate.FLAGS([__file__, f"--out_dir={tmp_path}", "--size=huge"])


def test_format_summary_lists_every_category():
  w = world.generate(seed=0, size="tiny")
  text = generate.format_summary(w.summary(), 1.0, 0.5, "/tmp/x")
  for name in w.categories:
    assert name in text
  assert text.splitlines()[0] == "shop world  seed=0  size=tiny  -> /tmp/x"

