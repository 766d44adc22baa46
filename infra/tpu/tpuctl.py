"""tpuctl: run a trellis training job on a Cloud TPU slice described by a job spec.

    bazel run //infra/tpu:tpuctl -- run    JOB.yaml   # create or reuse, watch, resume, delete
    bazel run //infra/tpu:tpuctl -- create JOB.yaml   # create and wait until READY (job starts)
    bazel run //infra/tpu:tpuctl -- status JOB.yaml   # slice state and each host's job state
    bazel run //infra/tpu:tpuctl -- logs   JOB.yaml [--worker N]
    bazel run //infra/tpu:tpuctl -- delete JOB.yaml

Common options: `--dry-run` prints every API request instead of sending it; `--endpoint
host:port` talks to another Cloud TPU API server (a fake or emulator, plaintext, no
credentials); `--store-root DIR` reads gs:// status and logs from a local mirror instead of
through `gcloud storage`. Without `--endpoint` it uses tpu.googleapis.com with your
application-default credentials (`gcloud auth application-default login`).

Exit status: 0 done, 1 the job failed or ran out of budget or restarts, 2 bad input or an API
error (the message says what to do), 130 interrupted (the slice is left for `run` to re-attach).
"""

import argparse
import os
import pathlib
import sys
import time

from infra.tpu import client as client_lib
from infra.tpu import errors, job_runner, operations, startup_script, status_store
from infra.tpu import spec as spec_lib

DRY_RUN_ID = "dry-run"
# A dry run's job "starts" at this fixed time (2026-01-01T00:00:00Z), so its output, which
# shows the budget's deadline, is the same every time.
DRY_RUN_START = 1767225600


class _FixedClock(operations.Clock):
  """The dry run's clock: it never waits, so its time never moves."""

  def time(self) -> float:
    return DRY_RUN_START

  def sleep(self, seconds: float) -> None:
    del seconds


def _parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog="tpuctl", description="Run trellis training jobs on Cloud TPU slices.")
  parser.add_argument("command", choices=("run", "create", "status", "logs", "delete"))
  parser.add_argument("job", help="the job spec YAML, e.g. infra/tpu/jobs/resnet50_v4_32.yaml")
  parser.add_argument("--dry-run", action="store_true",
                      help="print each API request (RPC and JSON body) instead of sending it")
  parser.add_argument("--endpoint", help="host:port of a Cloud TPU API server (plaintext); "
                      "default: tpu.googleapis.com")
  parser.add_argument("--store-root", help="read gs:// markers and logs from this directory "
                      "(gs://BUCKET/P is DIR/BUCKET/P) instead of through gcloud storage")
  parser.add_argument("--poll-seconds", type=float, default=60.0,
                      help="seconds between job status polls in `run`")
  parser.add_argument("--worker", type=int, help="`logs`: only this host's log")
  return parser


def _resolve(path: str) -> pathlib.Path:
  # `bazel run` starts in the runfiles tree; relative paths mean the user's directory.
  base = os.environ.get("BUILD_WORKING_DIRECTORY", os.getcwd())
  return pathlib.Path(base, path)


def _logger(dry_run: bool, out):
  def log(message: str) -> None:
    prefix = "#" if dry_run else time.strftime("[%H:%M:%S]")
    print(f"{prefix} {message}", file=out, flush=True)
  return log


def _status(spec, api, store, out) -> int:
  lines = [f"job {spec.name}: {spec.accelerator.name} ({spec.accelerator.num_hosts} hosts) "
           f"in {spec.zone}, {spec.capacity}"]
  if spec.uses_queued_resource:
    queued = api.get_queued_resource(spec)
    lines.append("queued resource: " + (queued.state.state.name if queued else "none"))
  node = api.get_node(spec)
  if node is None:
    lines.append("node: none")
  else:
    lines.append(f"node: {node.state.name}, health {node.health.name}, "
                 f"{len(node.network_endpoints)} endpoint(s), run {node.metadata.get('trellis-run-id', '?')}, "
                 f"attempt {node.metadata.get('trellis-attempt', '?')}")
  run_id = node.metadata.get("trellis-run-id") if node is not None else None
  started = node.metadata.get("trellis-started-at", "") if node is not None else ""
  if started.isdigit():
    deadline = startup_script.deadline(spec, int(started))
    left = max(deadline - api.clock.time(), 0) / 3600
    lines.append(f"budget: {spec.budget.max_hours:g} h from {startup_script.utc(int(started))}, "
                 f"ends {startup_script.utc(deadline)} ({left:.2f} h left)")
  job = status_store.read_job_status(store, spec.checkpoint_dir, spec.reporting_hosts, run_id)
  lines.append(f"job: {job.summary(spec.reporting_hosts)}")
  for worker, marker in sorted(job.workers.items()):
    details = [f"attempt {marker.get('attempt', '?')}"]
    if marker.get("exit_code") is not None:
      details.append(f"exit {marker['exit_code']}")
    if marker.get("time"):
      details.append(marker["time"])
    lines.append(f"  host {worker}: {marker['state']} ({', '.join(details)})")
  # Everything that uses TPU quota here, so an idle slice (ours or not) is easy to spot.
  nodes = api.list_nodes(spec)
  lines.append(f"TPU nodes in {spec.project}/{spec.zone}: {len(nodes)}")
  for other in nodes:
    job_label = other.labels.get("trellis-job")
    owner = f"tpuctl job {job_label}" if job_label else "not made by tpuctl"
    lines.append(f"  {other.name.rsplit('/', 1)[-1]}: {other.accelerator_type} "
                 f"{other.state.name}, {owner}")
  print("\n".join(lines), file=out)
  return 0


def _summary(spec, result: job_runner.RunResult) -> str:
  rows = [("job", spec.name), ("state", result.state), ("run", result.run_id),
          ("slices used", str(result.attempts)), ("hours", f"{result.hours:.2f}"),
          ("checkpoints", spec.checkpoint_dir)]
  if spec.export_root:
    rows.append(("exports", spec.export_root))
  return "\n".join(f"{key:<12} {value}" for key, value in rows)


def _logs(spec, store, worker, out) -> int:
  urls = store.list(status_store.logs_dir(spec.checkpoint_dir))
  if worker is not None:
    urls = [u for u in urls if u.endswith(f"/worker-{worker}.log")]
  if not urls:
    print(f"no logs under {status_store.logs_dir(spec.checkpoint_dir)} yet: hosts upload "
          "them once a minute after the job starts", file=out)
    return 0
  for url in urls:
    print(f"==> {url} <==\n{store.read(url) or ''}", file=out)
  return 0


def main(argv: list[str] | None = None, out=None) -> int:
  """Runs one tpuctl command; returns the exit status."""
  out = out or sys.stdout
  args = _parser().parse_args(argv)
  try:
    spec = spec_lib.load(_resolve(args.job))
    client = None if args.dry_run else client_lib.make_client(args.endpoint)
    api = client_lib.TpuApi(client, dry_run=args.dry_run, out=out,
                            clock=_FixedClock() if args.dry_run else None)
    log = _logger(args.dry_run, out)
    if args.dry_run:
      log(f"tpuctl {args.command} {args.job} --dry-run: requests are printed, none is sent; "
          f"the job's start is taken as {startup_script.utc(DRY_RUN_START)}")

    if args.command in ("run", "create"):
      # `create` reads no marker; `run` checks the bucket before it creates anything.
      store = (None if args.dry_run or args.command == "create"
               else status_store.store_for(spec.checkpoint_dir, args.store_root))
      runner = job_runner.JobRunner(api, store, poll_seconds=args.poll_seconds, log=log,
                                    new_run_id=(lambda: DRY_RUN_ID) if args.dry_run else None)
      if args.command == "create":
        attached = runner.create_or_adopt(spec)
        deadline = runner.deadline(spec, attached)
        if deadline <= api.clock.time():
          log(f"the budget of job {spec.name} ended at {startup_script.utc(deadline)}: its "
              f"hosts stop the job and give the slice back; `tpuctl delete {args.job}` now, "
              "then raise budget.max_hours to run it again")
          return 1
        api.wait_ready(spec, timeout=deadline - api.clock.time())
        log(f"slice {spec.name} is up; its hosts run the job from boot, stop it at the end of "
            f"its budget ({startup_script.utc(deadline)}) and give the slice back when it ends "
            "(`tpuctl status` to follow, `tpuctl delete` to give it back now)")
        code = 0
      else:
        result = runner.run(spec)
        code = 0 if result.state == job_runner.SUCCEEDED else 1
        if not args.dry_run:
          print(_summary(spec, result), file=out)
      if args.dry_run:
        log("startup-script in the node's metadata (each host runs it at boot):")
        print(startup_script.render(spec, run_id=DRY_RUN_ID, attempt=1,
                                    started_at=DRY_RUN_START), file=out, end="")
      return code
    if args.command == "delete":
      api.delete(spec, missing_ok=False)
      if not args.dry_run:
        log(f"deleted slice {spec.name}")
      return 0
    if args.dry_run:
      log(f"`{args.command}` only reads; nothing to show without sending requests")
      return 0
    store = status_store.store_for(spec.checkpoint_dir, args.store_root)
    if args.command == "status":
      return _status(spec, api, store, out)
    return _logs(spec, store, args.worker, out)
  except (spec_lib.SpecError, errors.TpuError, status_store.StoreError) as e:
    print(f"tpuctl: error: {e}", file=sys.stderr)
    return 2
  except KeyboardInterrupt:
    print(f"tpuctl: interrupted; a slice already created keeps running (and billing): "
          f"`tpuctl run {args.job}` re-attaches, `tpuctl delete {args.job}` gives it back",
          file=sys.stderr)
    return 130


if __name__ == "__main__":
  sys.exit(main())
