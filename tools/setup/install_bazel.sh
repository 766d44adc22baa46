#!/usr/bin/env bash
# Makes sure a `bazel` is on PATH. trellis builds with Debian's bazel-bootstrap
# (Bazel 4.2.3), which works with no network; see third_party/README.md.
set -euo pipefail

if command -v bazel >/dev/null 2>&1; then
  exit 0
fi

if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "error: bazel is not installed and installing it needs root." >&2
      echo "  Run as root: apt-get update && apt-get install -y bazel-bootstrap" >&2
      exit 1
    fi
  fi
  echo "Installing Bazel (Debian package bazel-bootstrap)..." >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq bazel-bootstrap >/dev/null
  command -v bazel >/dev/null 2>&1 && exit 0
fi

cat >&2 <<'MSG'
error: no `bazel` on PATH and no apt-get to install one.
  trellis needs Bazel 4.2+ with the built-in Python rules. Install one of:
    - Debian/Ubuntu: apt-get install bazel-bootstrap
    - elsewhere: Bazelisk (https://github.com/bazelbuild/bazelisk) with USE_BAZEL_VERSION=4.2.3
  then run `make setup` again.
MSG
exit 1
