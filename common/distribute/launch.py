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

Across machines, `--hosts FILE` names them, one `host[:slots]` per line (`#` comments; slots =
worker processes on that host, default 1), as a GPU cluster user would (`slots` = GPUs):

    bazel run //common/distribute:launch -- --hosts hosts.txt -- \
        .venv/bin/python -m vision.main --workdir=gs://BUCKET/run --config.distribution.kind=multi_worker
    bazel run //common/distribute:launch -- --backend horovod --hosts hosts.txt -- \
        .venv/bin/python -m vision.main --workdir=gs://BUCKET/run --config.distribution.kind=horovod

With the tf backend each worker gets a `TF_CONFIG` naming every worker as `host:port` (ports from
`--base_port` + slot on remote hosts; free ports on this machine) and is started on its host, by
`ssh -o BatchMode=yes HOST` (keys set up, the same checkout and venv at the same path on every
host, and a workdir they all reach: gs:// or a shared filesystem) unless the host is this machine
(localhost, 127.0.0.1, this hostname), where it runs directly. With horovod, `horovodrun -np
<slots in all> -H host1:slots,host2:slots --gloo` starts them (it uses ssh the same way).

The command runs in the directory `bazel run` was started from, so relative paths work.
"""

import argparse
import contextlib
import json
import os
import shlex
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


def tf_configs(num_workers: int, ports: list[int] | None = None,
               hosts: list[str] | None = None) -> list[str]:
  """The `TF_CONFIG` of each worker of an N-worker cluster (on 127.0.0.1 unless `hosts` given)."""
  ports = ports or free_ports(num_workers)
  hosts = hosts or ["127.0.0.1"] * num_workers
  cluster = {"worker": [f"{h}:{p}" for h, p in zip(hosts, ports, strict=True)]}
  return [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
          for i in range(num_workers)]


def read_hosts(path: str) -> list[tuple[str, int]]:
  """(host, slots) per line of a hosts file: `host[:slots]` or `host slots=N`, `#` comments."""
  try:
    with open(path) as f:  # a file on the launching machine, not a training location
      lines = f.read().splitlines()
  except OSError as e:
    raise SystemExit(f"launch: cannot read --hosts {path}: {e.strerror}; write one host[:slots] "
                     "per line, e.g. 10.0.0.2:4") from e
  hosts = []
  for number, line in enumerate(lines, 1):
    line = line.split("#", 1)[0].strip()
    if not line:
      continue
    host, slots = line, "1"
    if " slots=" in line:
      host, slots = line.split(" slots=", 1)
    elif ":" in line:
      host, slots = line.rsplit(":", 1)
    host, slots = host.strip(), slots.strip()
    if not host or " " in host or not slots.isdigit() or int(slots) < 1:
      raise SystemExit(f"launch: {path} line {number}: {line!r} is not host[:slots] with slots >= 1 "
                       "(e.g. 10.0.0.2:4 or 10.0.0.2 slots=4)")
    hosts.append((host, int(slots)))
  if not hosts:
    raise SystemExit(f"launch: --hosts {path} names no host; write one host[:slots] per line")
  return hosts


def is_this_machine(host: str) -> bool:
  """True for names of this machine, where workers start without ssh."""
  return host in ("localhost", "127.0.0.1", "::1", socket.gethostname(), socket.getfqdn())


def worker_commands(command: list[str], hosts: list[tuple[str, int]], *, cwd: str,
                    base_port: int) -> list[tuple[str, list[str], str]]:
  """(name, argv, TF_CONFIG) of each worker over `hosts`: local ones direct, others over ssh."""
  placed = [(host, slot) for host, slots in hosts for slot in range(slots)]
  local_ports = iter(free_ports(sum(1 for h, _ in placed if is_this_machine(h))))
  ports = [next(local_ports) if is_this_machine(h) else base_port + slot for h, slot in placed]
  configs = tf_configs(len(placed), ports, [h for h, _ in placed])
  workers = []
  for i, ((host, _), tf_config) in enumerate(zip(placed, configs, strict=True)):
    if is_this_machine(host):
      argv = command
    else:
      remote = (f"cd {shlex.quote(cwd)} && TF_CONFIG={shlex.quote(tf_config)} exec "
                + " ".join(shlex.quote(a) for a in command))
      argv = ["ssh", "-o", "BatchMode=yes", host, remote]
    workers.append((f"worker {i} on {host}", argv, tf_config))
  return workers


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
        cwd: str | None = None, out=None, hosts: list[tuple[str, int]] | None = None,
        base_port: int = 23456) -> int:
  """Runs `command` as `num_workers` workers (or over `hosts`); 0 when all succeed, else non-zero."""
  out = out or sys.stdout
  cwd = cwd or os.environ.get("BUILD_WORKING_DIRECTORY") or os.getcwd()
  if backend == "horovod":
    jobs = [("horovodrun", horovodrun_command(command, num_workers, hosts), dict(os.environ))]
  elif hosts:
    jobs = [(name, argv, dict(os.environ, TF_CONFIG=tf_config))
            for name, argv, tf_config in worker_commands(command, hosts, cwd=cwd,
                                                         base_port=base_port)]
  else:
    jobs = [(f"worker {i}", command, dict(os.environ, TF_CONFIG=c))
            for i, c in enumerate(tf_configs(num_workers))]
  lock = threading.Lock()
  workers = []
  try:
    for name, argv, env in jobs:
      workers.append(_Worker(name, argv, env, cwd, out, lock))
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


def horovodrun_command(command: list[str], num_workers: int,
                       hosts: list[tuple[str, int]] | None = None) -> list[str]:
  """`horovodrun` with Gloo on localhost (or `hosts`), found next to this Python or on PATH."""
  beside = os.path.join(os.path.dirname(sys.executable), "horovodrun")
  horovodrun = beside if os.access(beside, os.X_OK) else shutil.which("horovodrun")
  if not horovodrun:
    raise SystemExit("launch: --backend horovod needs `horovodrun`, which is not installed; build "
                     "Horovod with `make horovod` (third_party/horovod/build.sh).")
  if hosts:
    num_workers = sum(slots for _, slots in hosts)
    host_list = ",".join(f"{host}:{slots}" for host, slots in hosts)
  else:
    host_list = f"localhost:{num_workers}"
  return [horovodrun, "-np", str(num_workers), "-H", host_list, "--gloo", *command]


def parse_args(argv: list[str]) -> argparse.Namespace:
  parser = argparse.ArgumentParser(
      prog="launch", description=__doc__.split("\n\n")[0],
      usage="launch [--workers N | --hosts FILE] [--backend tf|horovod] -- <command and args>")
  parser.add_argument("--workers", type=int, default=2,
                      help="number of worker processes on this machine (without --hosts)")
  parser.add_argument("--hosts", default=None,
                      help="file of host[:slots] lines: run slots workers on each host")
  parser.add_argument("--base_port", type=int, default=23456,
                      help="with --hosts: workers on other machines listen on base_port + slot")
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
  hosts = read_hosts(args.hosts) if args.hosts else None
  return run(args.command, args.workers, backend=args.backend, grace_seconds=args.grace_seconds,
             hosts=hosts, base_port=args.base_port)


if __name__ == "__main__":
  sys.exit(main())
