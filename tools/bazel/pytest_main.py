"""Runs one pytest file as a Bazel test (used by the `py_test` macro in defs.bzl).

Bazel gives the test file's runfiles path as the first argument. Pytest writes
nothing into the read-only runfiles tree, JUnit XML goes where Bazel asks
(XML_OUTPUT_FILE), and pytest's exit code becomes the test's result.
"""

import os
import sys

import pytest


def main(argv: list[str]) -> int:
  test_file, extra = argv[0], argv[1:]
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
