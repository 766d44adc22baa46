#!/usr/bin/env bash
# What a new machine meets (`make fresh-check`): clones HEAD into a temporary folder and runs
# .ci/run there with an empty home directory. A new home means an empty pip cache, a new Bazel
# output base (Bazel keeps it under ~/.cache/bazel), no ~/.horovod, ~/.keras or matplotlib cache:
# nothing an earlier run left on this machine can help the suite pass. Only committed work is
# checked (uncommitted changes are not in the clone). Prints the wall time and the test counts.
#
# Machine-wide installs stay: Python, and the Debian packages `make setup` installs (Bazel,
# redis-server, chromium) are found where an earlier `make setup` put them; `make setup` checks
# them and installs what is missing.
#
# Usage: tools/setup/fresh_check.sh [--keep]    (--keep leaves the folder for inspection)
set -euo pipefail

keep=0
[[ "${1:-}" == "--keep" ]] && keep=1
src="$(git -C "$(dirname "$0")/../.." rev-parse --show-toplevel)"
rev="$(git -C "$src" rev-parse HEAD)"
if [[ -n "$(git -C "$src" status --porcelain --untracked-files=no)" ]]; then
  echo "fresh-check: note: uncommitted changes in $src are not checked (only HEAD $rev is)."
fi
# The interpreter, by absolute path: a shim (pyenv) may look for its versions under $HOME.
python="$(command -v "${PYTHON:-python3.11}")" || { echo "fresh-check: python3.11 not found" >&2; exit 1; }
python="$("$python" -c 'import sys; print(sys.executable)')"
data_dir="${DATA_DIR:-$src/../shared/data}"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/trellis-fresh.XXXXXX")"
cleanup() {
  # Stop the clone's Bazel server before deleting its output base.
  (cd "$tmp/trellis" 2>/dev/null && HOME="$tmp/home" bazel shutdown >/dev/null 2>&1) || true
  if [[ $keep == 0 ]]; then rm -rf "$tmp"; else echo "fresh-check: kept $tmp"; fi
}
trap cleanup EXIT
mkdir -p "$tmp/home"
git clone --quiet --no-hardlinks "$src" "$tmp/trellis"
git -C "$tmp/trellis" checkout --quiet "$rev"

echo "fresh-check: $rev in $tmp/trellis, HOME=$tmp/home, data from $data_dir"
start=$(date +%s)
set +e
(
  cd "$tmp/trellis"
  unset XDG_CONFIG_HOME XDG_CACHE_HOME XDG_DATA_HOME XDG_STATE_HOME MPLCONFIGDIR KERAS_HOME \
        PIP_CACHE_DIR PYTHONUSERBASE CLOUDSDK_CONFIG VIRTUAL_ENV PYTHONPATH
  export HOME="$tmp/home" PYTHON="$python" DATA_DIR="$data_dir" TRELLIS_DATA_DIR="$data_dir"
  .ci/run
) 2>&1 | tee "$tmp/ci.log"
status=${PIPESTATUS[0]}
set -e
end=$(date +%s)

echo
echo "fresh-check summary ($rev)"
echo "  wall time: $(( (end - start) / 60 )) min $(( (end - start) % 60 )) s"
grep -E "^Executed [0-9]+ out of [0-9]+ tests?:" "$tmp/ci.log" | tail -1 | sed 's/^/  bazel: /' || true
grep -E "^pytest cases:" "$tmp/ci.log" | tail -1 | sed 's/^/  /' || true
grep -E "(FAILED|NO STATUS|TIMEOUT)( in| \()" "$tmp/ci.log" | sed 's/^/  /' || true
echo "  result: $([[ $status == 0 ]] && echo PASSED || echo "FAILED (exit $status)")"
cp "$tmp/ci.log" "${TMPDIR:-/tmp}/trellis-fresh-check-$(date +%Y%m%d-%H%M%S).log"
exit "$status"
