"""Runs a startup script the way a TPU host would, with stand-ins for the tools it calls.

Tests use it to execute the exact script tpuctl puts in a node's metadata. The script's
commands are replaced by small scripts on PATH:

- `git clone URL DIR` makes DIR a repository; `checkout`/`fetch` succeed; `make` succeeds;
- `bazel` prints its arguments and the worker environment, then exits with `bazel_exit`
  (after `bazel_seconds`, to look like training);
- `gcloud storage cp - gs://B/P` writes `<buckets>/B/P`: Cloud Storage is a directory (shared
  by the hosts of a slice), which `status_store.LocalDirStore(<buckets>)` reads back;
- `curl` fails (there is no metadata server), `hostname` prints a TPU VM hostname ending in
  `-w-<worker>`, and `apt-get` must not be needed.

Every command the script ran is appended to `<root>/commands.log`.
"""

import os
import pathlib
import stat
import subprocess

_STUBS = {
    "git": 'if [ "$1" = clone ]; then mkdir -p "$4/.git"; fi; echo "git $*" >> "$STUB_LOG"',
    "make": 'echo "make $*" >> "$STUB_LOG"',
    "bazel": 'echo "bazel $*" >> "$STUB_LOG"; echo "bazel $*"; '
             'echo "worker=$TPU_WORKER_ID hosts=$TRELLIS_NUM_HOSTS '
             'load_library=${TPU_LOAD_LIBRARY:-unset}"; sleep "${FAKE_BAZEL_SECONDS:-0}"; '
             'exit "${FAKE_BAZEL_EXIT:-0}"',
    "gcloud": '[ "$1 $2 $3 $4" = "storage cp --quiet -" ] || exit 2; '
              'dest="$BUCKETS/${5#gs://}"; mkdir -p "$(dirname "$dest")"; '
              'cat > "$dest.tmp" && mv "$dest.tmp" "$dest"',
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
