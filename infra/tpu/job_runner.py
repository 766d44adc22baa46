"""`tpuctl run`: get a slice, run the job on it, survive preemptions, give the slice back.

    run(spec)
      ├─ reuse the job's slice if tpuctl made it for this job (adopting its run id), else create
      ├─ wait until READY — the startup script starts the job at boot (spec.code.launch)
      ├─ poll: hosts' status markers (SUCCEEDED / FAILED) and the slice (preempted / gone)
      │    └─ preempted → delete, re-create with attempt+1 (waiting out a full zone); the
      │       trainer resumes from the checkpoint under checkpoint_dir
      └─ delete the slice when the job ends, restarts run out, or the budget is spent

The budget is wall-clock hours from the job's start (when its run first created a slice),
queueing included: it bounds what a forgotten job can cost. The start is recorded on the slice
(`trellis-started-at` in the node's metadata, carried to every re-created slice), so a `run`
that re-attaches keeps the original clock, and the hosts enforce the same deadline themselves
(startup_script.py): a slice made by `tpuctl create` alone stops at the budget too. An
interrupted `tpuctl run` (Ctrl-C, closed laptop) leaves the slice running; running it again
re-attaches to the same run.
"""

import dataclasses
import uuid
from collections.abc import Callable
from typing import NamedTuple

from infra.tpu import client as client_lib
from infra.tpu import errors, operations, startup_script, status_store
from infra.tpu import spec as spec_lib

SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
BUDGET_EXHAUSTED = "BUDGET_EXHAUSTED"
RESTARTS_EXHAUSTED = "RESTARTS_EXHAUSTED"
LOST = "LOST"  # internal: the slice was preempted or deleted under the job


class Attached(NamedTuple):
  """The run a slice belongs to."""
  run_id: str
  attempt: int
  started_at: int  # when the job started, seconds since the epoch; its budget counts from here


@dataclasses.dataclass(frozen=True)
class RunResult:
  """How a run ended."""
  state: str         # SUCCEEDED | FAILED | BUDGET_EXHAUSTED | RESTARTS_EXHAUSTED
  run_id: str
  attempts: int      # slices used: 1 + re-creations after preemption
  hours: float       # wall-clock hours from the job's start to its end
  message: str


def _hosts(spec: spec_lib.JobSpec) -> str:
  if spec.reporting_hosts == spec.accelerator.num_hosts:
    return f"all {spec.accelerator.num_hosts} hosts" if spec.reporting_hosts > 1 else "1 host"
  return f"worker 0 of {spec.accelerator.num_hosts} hosts"


class JobRunner:
  """Runs one job spec to the end on Cloud TPU.

  Args:
    api: the Cloud TPU calls.
    store: where the hosts' status markers are read.
    poll_seconds: time between status polls while the job runs.
    log: receives one line per event (creation, READY, preemption, end).
    new_run_id: makes the id of a new run (a random 12-hex-digit id by default).
    capacity_backoff: delays between attempts to re-create a lost slice in a full zone.
  """

  def __init__(self, api: client_lib.TpuApi, store: status_store.Store | None, *,
               poll_seconds: float = 60.0, log: Callable[[str], None] = print,
               new_run_id: Callable[[], str] | None = None,
               capacity_backoff: operations.Backoff = operations.Backoff(60, 900, 2)):
    self.api = api
    self.store = store
    self.clock = api.clock
    self.poll_seconds = poll_seconds
    self.log = log
    self.new_run_id = new_run_id or (lambda: uuid.uuid4().hex[:12])
    self.capacity_backoff = capacity_backoff

  def _adopt(self, spec: spec_lib.JobSpec) -> Attached | None:
    """The run of a slice tpuctl already made for this job, or None if none exists.

    Raises:
      errors.TpuError: a slice of that name exists but belongs to something else.
    """
    node, name = self.api.get_node(spec), spec.node_name
    if node is None and spec.uses_queued_resource:
      # Still queued (or its node already deleted): the node it asks for carries our labels.
      queued, name = self.api.get_queued_resource(spec), spec.queued_resource_name
      if queued is not None and queued.tpu.node_spec:
        node = queued.tpu.node_spec[0].node
    if node is None:
      return None
    if node.labels.get("trellis-job") != spec.name or "trellis-run-id" not in node.metadata:
      raise errors.TpuError(
          f"{name} exists but was not created by tpuctl for job {spec.name}; delete it "
          "(`gcloud compute tpus tpu-vm delete` / `queued-resources delete`) or rename the job")
    started = node.metadata.get("trellis-started-at", "")
    if not started.isdigit():
      started = int(self.clock.time())
      self.log(f"slice {spec.name} does not say when its job started (made by an older "
               "tpuctl); its budget counts from now")
    return Attached(node.metadata["trellis-run-id"],
                    int(node.metadata.get("trellis-attempt", "1")), int(started))

  def _create(self, spec, run: Attached) -> None:
    script = startup_script.render(spec, run_id=run.run_id, attempt=run.attempt,
                                   started_at=run.started_at)
    node = self.api.node_message(spec, startup_script=script, run_id=run.run_id,
                                 attempt=run.attempt, started_at=run.started_at)
    self.log(f"creating {spec.accelerator.name} slice {spec.name} "
             f"({spec.accelerator.num_hosts} hosts, {spec.capacity}), attempt {run.attempt}")
    # A request still queued when the budget is spent is of no use.
    self.api.create(spec, node, queue_seconds=self.deadline(spec, run) - self.clock.time())

  @staticmethod
  def deadline(spec: spec_lib.JobSpec, run: Attached) -> int:
    """When the run's budget ends (seconds since the epoch), on tpuctl's side and the hosts'."""
    return startup_script.deadline(spec, run.started_at)

  def create_or_adopt(self, spec: spec_lib.JobSpec) -> Attached:
    """Creates the job's slice, or adopts the one a previous tpuctl made."""
    adopted = self._adopt(spec)
    if adopted is not None:
      left = (self.deadline(spec, adopted) - self.clock.time()) / 3600
      self.log(f"re-attaching to run {adopted.run_id} on existing slice {spec.name} (attempt "
               f"{adopted.attempt}); its budget started at "
               f"{startup_script.utc(adopted.started_at)}: {max(left, 0):.2f} h left")
      return adopted
    run = Attached(self.new_run_id(), 1, int(self.clock.time()))
    self._create(spec, run)
    return run

  def run(self, spec: spec_lib.JobSpec) -> RunResult:
    """Runs `spec` until it succeeds, fails, or its budget or restarts run out."""
    if not self.api.dry_run:
      # Fail before paying for a slice if the markers cannot be read (no gcloud, no access).
      self.store.list(status_store.status_dir(spec.checkpoint_dir))
    run = self.create_or_adopt(spec)
    run_id, attempt, start = run
    deadline = self.deadline(spec, run)

    def finish(state: str, message: str) -> RunResult:
      self.log(message)
      self.log(f"deleting slice {spec.name}")
      self.api.delete(spec)
      return RunResult(state, run_id, attempt, (self.clock.time() - start) / 3600, message)

    while True:
      try:
        self.api.wait_ready(spec, timeout=max(deadline - self.clock.time(), 0))
        if self.api.dry_run:
          return finish(SUCCEEDED, (
              f"then every {self.poll_seconds:g} s: read the hosts' markers under "
              f"{status_store.status_dir(spec.checkpoint_dir)}, and get the slice to notice a "
              "preemption (delete it, create it again with attempt 2); when every host "
              "reports SUCCEEDED, one FAILED, or at the end of the budget "
              f"({spec.budget.max_hours:g} h after the job's start, "
              f"{startup_script.utc(deadline)}):"))
        self.log(f"slice {spec.name} is READY; the job starts on {_hosts(spec)} "
                 f"(attempt {attempt}, run {run_id})")
        outcome, detail = self._watch(spec, run_id, deadline)
      except errors.PreemptedError as e:
        outcome, detail = LOST, str(e)
      except errors.OperationTimeoutError:
        outcome, detail = BUDGET_EXHAUSTED, "while waiting for the slice to become READY"
      except errors.TpuError as e:
        # e.g. the queued request FAILED for lack of capacity: a slice left behind would be
        # re-attached by the next run, or bill nobody's job.
        self.log(f"{e}\ndeleting slice {spec.name} before giving up")
        self.api.delete(spec)
        raise

      if outcome == SUCCEEDED:
        return finish(SUCCEEDED, f"job {spec.name} succeeded ({_hosts(spec)}) after "
                      f"{attempt} attempt(s)")
      if outcome == FAILED:
        return finish(FAILED, f"job {spec.name} failed on host(s) {detail}; see `tpuctl logs "
                      f"JOB.yaml` ({status_store.logs_dir(spec.checkpoint_dir)})")
      if outcome == BUDGET_EXHAUSTED or deadline - self.clock.time() <= 0:
        return finish(BUDGET_EXHAUSTED,
                      f"budget of {spec.budget.max_hours:g} h (from the job's start at "
                      f"{startup_script.utc(start)}) is spent before the job finished "
                      f"({detail}); checkpoints stay in {spec.checkpoint_dir}: raise "
                      "budget.max_hours and `tpuctl run` again to resume")
      if attempt > spec.budget.max_restarts:
        return finish(RESTARTS_EXHAUSTED,
                      f"slice {spec.name} was lost ({detail}) {attempt} times; "
                      f"budget.max_restarts is {spec.budget.max_restarts}: raise it, or use "
                      "capacity: reserved or on-demand")
      self.log(f"slice {spec.name} was lost ({detail}); re-creating it, training resumes "
               f"from {spec.checkpoint_dir}")
      self.api.delete(spec)
      attempt += 1
      try:
        self._recreate(spec, run._replace(attempt=attempt), deadline)
      except errors.OperationTimeoutError:
        return finish(BUDGET_EXHAUSTED,
                      f"budget of {spec.budget.max_hours:g} h is spent while the zone had no "
                      f"capacity to re-create the slice; checkpoints stay in "
                      f"{spec.checkpoint_dir}: `tpuctl run` again later to resume")

  def _recreate(self, spec, run: Attached, deadline: float) -> None:
    """Creates the slice again after a loss; a zone out of capacity is retried until `deadline`.

    Capacity taken back by a preemption is often short for a while: unlike a first `run`,
    which reports the error so the user can pick another zone, a run already under way waits.
    """

    def try_create():
      try:
        self._create(spec, run)
        return True
      except errors.CapacityError as e:
        self.log(f"{e}; trying again")
        return None

    operations.poll_until(try_create, what=f"capacity to re-create {spec.name}",
                          timeout=max(deadline - self.clock.time(), 0),
                          backoff=self.capacity_backoff, clock=self.clock)

  def _watch(self, spec: spec_lib.JobSpec, run_id: str, deadline: float) -> tuple[str, str]:
    """Polls until the job ends, the slice is lost, or the deadline passes.

    Returns:
      (outcome, detail): (SUCCEEDED, ""), (FAILED, failed hosts), (LOST, why), or
      (BUDGET_EXHAUSTED, "").
    """
    last = None
    while True:
      # Markers first: a job that finished just before a preemption has finished.
      try:
        status = status_store.read_job_status(self.store, spec.checkpoint_dir,
                                              spec.reporting_hosts, run_id)
      except status_store.StoreError as e:
        # Storage hiccups must not end a day-long run; the slice state is still checked.
        self.log(f"cannot read the job's markers this time ({e}); trying again next poll")
        status = status_store.JobStatus("UNKNOWN", {})
      summary = status.summary(spec.reporting_hosts)
      if summary != last:
        self.log(f"job {spec.name}: {summary}")
        last = summary
      if status.state == SUCCEEDED:
        return SUCCEEDED, ""
      if status.state == FAILED:
        return FAILED, str(sorted(w for w, m in status.workers.items() if m["state"] == FAILED))
      if status.state == status_store.BUDGET_EXCEEDED:
        return BUDGET_EXHAUSTED, "the hosts stopped the job at the budget's end"
      if (lost := self.api.slice_lost(spec)) is not None:
        return LOST, lost
      remaining = deadline - self.clock.time()
      if remaining <= 0:
        return BUDGET_EXHAUSTED, "while the job was running"
      self.clock.sleep(min(self.poll_seconds, remaining))
