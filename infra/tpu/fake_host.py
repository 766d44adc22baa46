"""Runs a startup script the way a TPU host would, with stand-ins for the tools it calls.

Tests use it to execute the exact script tpuctl puts in a node's metadata. The script's
commands are replaced by small scripts on PATH:

- `git clone URL DIR` makes DIR a repository; `checkout`/`fetch` succeed; `make` succeeds, and
  `make setup-tpu` makes `.venv-tpu/bin/python` in the code directory, which
- `.venv-tpu/bin/python -m MODULE ARGS` prints its arguments and the worker environment, then
  exits with `bazel_exit` (after `bazel_seconds`, to look like training); the TPU server
  (`-m common.distribute.tpu_server`) only logs;
- `gcloud storage` (`cp -`, `ls`, `rsync`) works on `<buckets>/B/P` for `gs://B/P`: Cloud
  Storage is a directory (shared by the hosts of a slice), which
  `status_store.LocalDirStore(<buckets>)` reads back;
- `curl` fails (there is no metadata server), `hostname` prints a TPU VM hostname ending in
  `-w-<worker>`, and `apt-get` must not be needed.

Every command the script ran is appended to `<root>/commands.log`.
"""

import os
import pathlib
import stat
import subprocess

# `gcloud storage` on the directory $BUCKETS: `cp --quiet - URL` (one object from stdin),
# `ls PATTERN` (objects matching a `**`/`*` wildcard), `rsync --recursive SRC DEST` (a tree, either
# way). Every call is logged. `gcloud compute tpus ...` (a host giving its slice back) exits with
# $FAKE_GCLOUD_TPU_EXIT.
_GCLOUD = r"""echo "gcloud $*" >> "$STUB_LOG"
local_path() { if [[ "$1" == gs://* ]]; then echo "$BUCKETS/${1#gs://}"; else echo "$1"; fi; }
case "$1 $2" in
  "storage cp")
    [ "$3 $4" = "--quiet -" ] || exit 2
    dest=$(local_path "$5"); mkdir -p "$(dirname "$dest")"; cat > "$dest.tmp" && mv "$dest.tmp" "$dest" ;;
  "storage ls")
    shopt -s globstar nullglob; found=0
    for path in $(local_path "$3"); do [ -f "$path" ] && echo "gs://${path#"$BUCKETS/"}" && found=1; done
    [ "$found" = 1 ] || { echo "ERROR: One or more URLs matched no objects." >&2; exit 1; } ;;
  "storage rsync")
    [ "$3" = --recursive ] || exit 2
    src=$(local_path "$4"); dest=$(local_path "$5")
    [ -d "$src" ] || { echo "ERROR: $4 matched no objects" >&2; exit 1; }
    mkdir -p "$dest" && cp -r "$src/." "$dest/" ;;
  "compute tpus") exit "${FAKE_GCLOUD_TPU_EXIT:-0}" ;;
  *) exit 2 ;;
esac"""

# `.venv-tpu/bin/python -m MODULE ARGS`: prints its arguments and the worker environment, then
# sleeps $FAKE_BAZEL_SECONDS and exits with $FAKE_BAZEL_EXIT. An export module (`*.export`)
# instead publishes the next version of model `m` under --export_root, as common/export numbers
# them; the TPU server exits at once.
_PYTHON = r"""echo "python $*" >> "$STUB_LOG"; echo "python $*"
[[ "$2" == common.distribute.tpu_server ]] && exit 0
if [[ "$2" == *.export ]]; then
  for arg in "$@"; do case "$arg" in --export_root=*) root="${arg#--export_root=}" ;; esac; done
  last=$(ls "$root/m" 2>/dev/null | sort -n | tail -1)
  mkdir -p "$root/m/$((last + 1))" && echo "exported" > "$root/m/$((last + 1))/saved_model.pb"
  echo "exported $root/m/$((last + 1))"; exit "${FAKE_EXPORT_EXIT:-0}"
fi
echo "worker=$TPU_WORKER_ID hosts=$TRELLIS_NUM_HOSTS load_library=${TPU_LOAD_LIBRARY:-unset}"
echo "export_root=${TRELLIS_EXPORT_ROOT:-unset}"
sleep "${FAKE_BAZEL_SECONDS:-0}"; exit "${FAKE_BAZEL_EXIT:-0}"
"""

_STUBS = {
    "git": 'if [ "$1" = clone ]; then mkdir -p "$4/.git"; fi; echo "git $*" >> "$STUB_LOG"',
    "make": ('echo "make $*" >> "$STUB_LOG"; if [ "$1" = setup-tpu ]; then mkdir -p .venv-tpu/bin'
             ' && cp "$(dirname "$0")/venv-python" .venv-tpu/bin/python; fi'),
    "venv-python": _PYTHON,
    "gcloud": _GCLOUD,
    "python3.11": "exit 0",
    "curl": "exit 7",
    "apt-get": "echo apt-get must not run; exit 1",
    "hostname": 'echo "t1v-n-0a1b2c-w-${FAKE_WORKER:-0}"',
}


class FakeHost:
  """One TPU host's environment under `root` (a fresh directory per host)."""

  def __init__(self, root: pathlib.Path, *, worker: int = 0, bazel_exit: int = 0,
               bazel_seconds: float = 0.0, buckets: pathlib.Path | None = None):
    self.root = pathlib.Path(root)
    self.buckets = pathlib.Path(buckets) if buckets is not None else self.root / "buckets"
    self.commands_log = self.root / "commands.log"
    stubs = self.root / "stubs"
    stubs.mkdir(parents=True, exist_ok=True)
    for name, body in _STUBS.items():
      (stubs / name).write_text(f"#!/bin/bash\n{body}\n")
      (stubs / name).chmod(stat.S_IRWXU)
    self.env = {
        "PATH": f"{stubs}:/usr/bin:/bin", "HOME": str(self.root),
        "STUB_LOG": str(self.commands_log), "BUCKETS": str(self.buckets),
        "TRELLIS_CODE_DIR": str(self.root / "code"),
        "TRELLIS_LOG_FILE": str(self.root / "job.log"),
        "TRELLIS_EXPORT_STAGING": str(self.root / "export-staging"),
        "TRELLIS_GIVE_BACK_SECONDS": "0",  # worker 0 "deletes" its slice at once (logged)
        "FAKE_WORKER": str(worker), "FAKE_BAZEL_EXIT": str(bazel_exit),
        "FAKE_BAZEL_SECONDS": str(bazel_seconds),
    }

  def _command(self, script: str) -> list[str]:
    path = self.root / "startup.sh"
    path.write_text(script)
    return ["bash", str(path)]

  def run(self, script: str, **env: str) -> subprocess.CompletedProcess:
    """Runs the script to the end (what a host does at boot)."""
    return subprocess.run(self._command(script), env={**self.env, **env}, capture_output=True,
                          text=True, timeout=60, check=False)

  def start(self, script: str, **env: str) -> subprocess.Popen:
    """Starts the script and returns at once; the caller waits for it."""
    return subprocess.Popen(self._command(script), env={**self.env, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)

  def commands(self) -> str:
    return self.commands_log.read_text() if os.path.exists(self.commands_log) else ""
