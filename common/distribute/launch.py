"""Runs a command as an N-worker job on this machine, the way a cluster would.

    bazel run //common/distribute:launch -- --workers 2 -- \
        .venv/bin/python -m common.distribute.tiny_job --workdir=/tmp/mw --kind=multi_worker
    bazel run //common/distribute:launch -- --backend horovod --workers 2 -- \
        .venv/bin/python -m common.distribute.tiny_job --workdir=/tmp/hvd --kind=horovod

`--backend tf` (default) starts N copies of the command, each with a `TF_CONFIG` naming all N
workers on free ports of 127.0.0.1 and its own index, which is all `MultiWorkerMirroredStrategy`
needs. Their output is streamed line by line with a `[worker i]` prefix. When a worker fails the
others would block forever in their next all-reduce, so the launcher stops them all at once
(SIGTERM, then SIGKILL after `--grace_seconds`) and exits non-zero, naming the worker and how it
ended. Run the same command again with the same workdir to resume from the last backup.

`--backend horovod` fronts `horovodrun -np N -H localhost:N --gloo`, which starts the ranks,
prefixes their output and stops the job when a rank fails (Horovod built by `make horovod`).

The command runs in the directory `bazel run` was started from, so relative paths work.
"""

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

_POLL_SECONDS = 0.1


def free_ports(n: int) -> list[int]:
  """N distinct ports that are free on 127.0.0.1 now (the OS picks them)."""
  sockets = []
  try:
    for _ in range(n):
      s = socket.socket()
      s.bind(("127.0.0.1", 0))
      sockets.append(s)
    return [s.getsockname()[1] for s in sockets]
  finally:
    for s in sockets:
      s.close()


def tf_configs(num_workers: int, ports: list[int] | None = None) -> list[str]:
  """The `TF_CONFIG` of each worker of a local N-worker cluster."""
  ports = ports or free_ports(num_workers)
  cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
  return [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
          for i in range(num_workers)]


def _describe(returncode: int) -> str:
  if returncode < 0:
    try:
      return f"was killed by {signal.Signals(-returncode).name}"
    except ValueError:
      return f"was killed by signal {-returncode}"
  return f"exited with code {returncode}"


class _Worker:
  """One child process (in its own process group) and the thread copying its output."""

  def __init__(self, name: str, command: list[str], env: dict, cwd: str, out, lock):
    self.name = name
    self.process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True)
    self._thread = threading.Thread(target=self._pump, args=(out, lock), daemon=True)
    self._thread.start()

  def _pump(self, out, lock):
    for raw in iter(self.process.stdout.readline, b""):
      line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
      with lock:
        out.write(f"[{self.name}] {line}\n")
        out.flush()

  def signal(self, sig: int) -> None:
    if self.process.poll() is None:
      with contextlib.suppress(ProcessLookupError):  # it exited in the meantime
        os.killpg(self.process.pid, sig)

  def finish_output(self, timeout: float = 2.0) -> None:
    self._thread.join(timeout)


def run(command: list[str], num_workers: int, *, backend: str = "tf", grace_seconds: float = 10.0,
        cwd: str | None = None, out=None) -> int:
  """Runs `command` as `num_workers` workers; returns 0 when all succeed, else non-zero."""
  out = out or sys.stdout
  cwd = cwd or os.environ.get("BUILD_WORKING_DIRECTORY") or os.getcwd()
  if backend == "horovod":
    command = horovodrun_command(command, num_workers)
    num_workers, names, envs = 1, ["horovodrun"], [dict(os.environ)]
  else:
    names = [f"worker {i}" for i in range(num_workers)]
    envs = [dict(os.environ, TF_CONFIG=c) for c in tf_configs(num_workers)]
  lock = threading.Lock()
  workers = []
  try:
    for name, env in zip(names, envs, strict=True):
      workers.append(_Worker(name, command, env, cwd, out, lock))
  except OSError as e:
    for w in workers:
      w.signal(signal.SIGKILL)
    raise SystemExit(f"launch: cannot start {command[0]!r}: {e}") from e

  def forward(signum, frame):
    del frame
    for w in workers:
      w.signal(signum)
  previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
  try:
    return _supervise(workers, grace_seconds, out, lock)
  finally:
    for s, handler in previous.items():
      signal.signal(s, handler)


def _supervise(workers, grace_seconds, out, lock) -> int:
  running = list(workers)
  while running:
    time.sleep(_POLL_SECONDS)
    for w in list(running):
      code = w.process.poll()
      if code is None:
        continue
      running.remove(w)
      if code != 0:
        w.finish_output()
        with lock:
          stopping = (f"; stopping the other {len(running)} worker(s) so they do not wait on it "
                      "forever" if running else "")
          out.write(f"launch: {w.name} (pid {w.process.pid}) {_describe(code)}{stopping}.\n")
          out.flush()
        _stop(running, grace_seconds)
        return code if code > 0 else 128 - code
  for w in workers:
    w.finish_output()
  with lock:
    out.write(f"launch: all {len(workers)} worker(s) finished successfully.\n")
    out.flush()
  return 0


def _stop(workers, grace_seconds: float) -> None:
  for w in workers:
    w.signal(signal.SIGTERM)
  deadline = time.monotonic() + grace_seconds
  while any(w.process.poll() is None for w in workers) and time.monotonic() < deadline:
    time.sleep(_POLL_SECONDS)
  for w in workers:
    w.signal(signal.SIGKILL)
    w.process.wait()
    w.finish_output()


def horovodrun_command(command: list[str], num_workers: int) -> list[str]:
  """`horovodrun` with Gloo on localhost, found next to this Python or on PATH."""
  beside = os.path.join(os.path.dirname(sys.executable), "horovodrun")
  horovodrun = beside if os.access(beside, os.X_OK) else shutil.which("horovodrun")
  if not horovodrun:
    raise SystemExit("launch: --backend horovod needs `horovodrun`, which is not installed; build "
                     "Horovod with `make horovod` (third_party/horovod/build.sh).")
  return [horovodrun, "-np", str(num_workers), "-H", f"localhost:{num_workers}", "--gloo",
          *command]


def parse_args(argv: list[str]) -> argparse.Namespace:
  parser = argparse.ArgumentParser(
      prog="launch", description=__doc__.split("\n\n")[0],
      usage="launch [--workers N] [--backend tf|horovod] -- <command and args>")
  parser.add_argument("--workers", type=int, default=2, help="number of worker processes")
  parser.add_argument("--backend", choices=("tf", "horovod"), default="tf",
                      help="tf: TF_CONFIG for MultiWorkerMirroredStrategy; horovod: horovodrun")
  parser.add_argument("--grace_seconds", type=float, default=10.0,
                      help="after a failure, how long the others get to exit on SIGTERM")
  if "--" not in argv:
    parser.error("put the command to run after `--`, e.g. "
                 "launch --workers 2 -- python -m common.distribute.tiny_job --kind=multi_worker "
                 "--workdir=/tmp/x")
  split = argv.index("--")
  args = parser.parse_args(argv[:split])
  args.command = argv[split + 1:]
  if not args.command:
    parser.error("no command after `--`; give the program to run on every worker.")
  if args.workers < 1:
    parser.error(f"--workers={args.workers}: need at least 1 worker.")
  return args


def main(argv: list[str] | None = None) -> int:
  args = parse_args(sys.argv[1:] if argv is None else argv)
  return run(args.command, args.workers, backend=args.backend, grace_seconds=args.grace_seconds)


if __name__ == "__main__":
  sys.exit(main())
