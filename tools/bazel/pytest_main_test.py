"""Every Bazel test runs with a home directory of its own (pytest_main.private_home)."""

import os
import pwd
import subprocess
import sys

import pytest

from tools.bazel import pytest_main

_UNDER_BAZEL = "TEST_TMPDIR" in os.environ and "XML_OUTPUT_FILE" in os.environ


@pytest.mark.skipif(not _UNDER_BAZEL, reason="checks the environment Bazel's test runner sets up")
def test_home_is_inside_the_test_sandbox():
  tmpdir = os.path.realpath(os.environ["TEST_TMPDIR"])
  real_home = pwd.getpwuid(os.getuid()).pw_dir
  assert os.path.realpath(os.environ["HOME"]).startswith(tmpdir + os.sep)
  assert os.path.expanduser("~") != real_home
  for variable in pytest_main._STATE_DIRS:
    assert os.path.realpath(os.environ[variable]).startswith(tmpdir + os.sep), variable


@pytest.mark.skipif(not _UNDER_BAZEL, reason="checks the environment Bazel's test runner sets up")
def test_a_child_process_writes_its_state_into_the_private_home():
  # What horovodrun does at start (its host cache under ~/.horovod), from a separate process.
  code = "import os; p = os.path.expanduser('~/.horovod'); os.makedirs(p); print(p)"
  out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
  assert out.stdout.strip().startswith(os.path.realpath(os.environ["TEST_TMPDIR"]))


def test_private_home_points_every_state_directory_inside(tmp_path, monkeypatch):
  for variable in ["HOME", *pytest_main._STATE_DIRS]:
    monkeypatch.setenv(variable, "/nonexistent/real/home")
  home = pytest_main.private_home(str(tmp_path))
  assert home == str(tmp_path / "home")
  assert os.environ["HOME"] == home
  for variable in pytest_main._STATE_DIRS:
    assert os.environ[variable].startswith(home + os.sep)
    assert os.path.isdir(os.environ[variable])
