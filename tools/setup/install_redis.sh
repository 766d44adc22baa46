#!/usr/bin/env bash
# Installs Debian's `redis-server` for the Recommendation API tests (serving/recommendation);
# tests that need it skip with a reason when it is absent. Called by `make setup`.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "warning: no apt-get; install redis-server yourself to run the tests that use it" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "warning: installing redis-server needs root: apt-get install -y redis-server (tests using it will skip)" >&2
    exit 0
  fi
fi
echo "Installing redis-server (Debian package)..." >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null
command -v redis-server >/dev/null 2>&1
