"""Runs one pytest file as a Bazel test (used by the `py_test` macro in defs.bzl).

Bazel gives the test file's runfiles path as the first argument. Pytest writes
nothing into the read-only runfiles tree, JUnit XML goes where Bazel asks
(XML_OUTPUT_FILE), and pytest's exit code becomes the test's result.

Every test also gets a home directory of its own (`private_home`): Bazel's
sandbox mounts the real home read-only, and tools write state there
(horovodrun's `~/.horovod`, Keras' `~/.keras`, matplotlib's config and font
cache, pip's cache, XDG caches). A test that found such a folder left by an
earlier manual run passed on the developer's machine and failed on every fresh
one; with a private home nothing outside the test's sandbox can help or hurt it.
"""

import os
import sys

import pytest

# Variables that tools read to find where to keep state; all point inside the private home.
# HOME covers what derives its paths from it (horovodrun, ~/.keras, ~/.cache/pip, faiss, gcloud);
# the rest are set explicitly because a developer's shell may set them to the real home.
_STATE_DIRS = {
    "XDG_CONFIG_HOME": ".config",
    "XDG_CACHE_HOME": ".cache",
    "XDG_DATA_HOME": ".local/share",
    "XDG_STATE_HOME": ".local/state",
    "MPLCONFIGDIR": ".config/matplotlib",
    "KERAS_HOME": ".keras",
    "PIP_CACHE_DIR": ".cache/pip",
    "PYTHONUSERBASE": ".local",
    "CLOUDSDK_CONFIG": ".config/gcloud",
}


def private_home(tmpdir: str) -> str:
  """Points HOME and every state directory above at `<tmpdir>/home`; returns it."""
  home = os.path.join(tmpdir, "home")
  os.environ["HOME"] = home
  for variable, relative in _STATE_DIRS.items():
    os.environ[variable] = os.path.join(home, relative)
    os.makedirs(os.environ[variable], exist_ok=True)
  return home


def main(argv: list[str]) -> int:
  test_file, extra = argv[0], argv[1:]
  if tmpdir := os.environ.get("TEST_TMPDIR"):
    private_home(tmpdir)
  args = [
      test_file,
      "-p", "no:cacheprovider",
      "-o", "console_output_style=classic",
      "-rfEs",  # summarise failures, errors and skips with their reasons
      "--tb=short",
      "--durations=5",
  ]
  if xml := os.environ.get("XML_OUTPUT_FILE"):
    args += ["--junitxml", xml]
  # Bazel's test sharding protocol: we do not shard, but must say so.
  if status := os.environ.get("TEST_SHARD_STATUS_FILE"):
    open(status, "w").close()
  return pytest.main(args + extra)


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
