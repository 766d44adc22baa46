"""End-to-end `tpuctl run` scenarios: the real TpuClient, the fake Cloud TPU API, simulated hosts.

`Hosts` stands in for what the startup script and the trainer do on the slice: when the fake
server makes a node READY, every host marks RUNNING and resumes from the step checkpointed
in the `--workdir` the node's startup script was given; each runner poll is one training step;
at `total_steps` every host marks SUCCEEDED. Time is a fake clock, so hours pass instantly.
"""

import contextlib
import dataclasses
import json
import pathlib
import re

import pytest
import yaml
from google.rpc import code_pb2

from infra.tpu import client as client_lib
from infra.tpu import errors, fake_tpu_server, job_runner, operations, status_store
from infra.tpu import spec as spec_lib

EXAMPLE = pathlib.Path(__file__).parent / "jobs" / "resnet50_v4_32.yaml"


class Clock(operations.Clock):
  """Fake time; each sleep lets the simulated hosts work."""

  def __init__(self):
    self.now, self.on_sleep = 0.0, []

  def time(self):
    return self.now

  def sleep(self, seconds):
    self.now += seconds
    for hook in self.on_sleep:
      hook()


class Hosts:
  """The hosts of whatever slice the fake server has READY for the job."""

  def __init__(self, store, spec, total_steps=6, fail_worker=None):
    self.store, self.spec = store, spec
    self.total_steps, self.fail_worker = total_steps, fail_worker
    self.running = None    # (run_id, attempt, workdir) while a slice runs the job
    self.starts = []       # (attempt, step resumed from)

  def _checkpoint(self, workdir):
    return f"{workdir}/checkpoint.json"

  def step(self, workdir=None) -> int:
    text = self.store.read(self._checkpoint(workdir or self.running[2]))
    return json.loads(text)["step"] if text else 0

  def _mark(self, state, worker, exit_code=None):
    run_id, attempt, _ = self.running
    self.store.write(f"{status_store.status_dir(self.spec.checkpoint_dir)}/worker-{worker}.json",
                     json.dumps({"state": state, "worker": worker, "run_id": run_id,
                                 "attempt": attempt, "exit_code": exit_code}))

  def boot(self, node):
    """What the startup script does at boot, from what the node was actually given."""
    script = node.metadata["startup-script"]
    workdir = re.search(r"--workdir=(\S+)", script)[1]
    self.running = (node.metadata["trellis-run-id"], int(node.metadata["trellis-attempt"]),
                    workdir)
    self.starts.append((self.running[1], self.step()))
    for worker in range(self.spec.reporting_hosts):
      self._mark("RUNNING", worker)

  def train_one_step(self):
    if self.running is None:
      return
    step = self.step() + 1
    self.store.write(self._checkpoint(self.running[2]), json.dumps({"step": step}))
    if self.fail_worker is not None and step == 2:
      self._mark("FAILED", self.fail_worker, exit_code=1)
      self.running = None
    elif step >= self.total_steps:
      for worker in range(self.spec.reporting_hosts):
        self._mark("SUCCEEDED", worker, exit_code=0)
      self.running = None

  def preempted(self):
    self.running = None


@dataclasses.dataclass
class World:
  spec: spec_lib.JobSpec
  fake: fake_tpu_server.FakeTpuServer
  hosts: Hosts
  clock: Clock
  runner: job_runner.JobRunner
  lines: list[str]


def make_spec(**changes):
  raw = yaml.safe_load(EXAMPLE.read_text())
  raw.update(changes)
  return spec_lib.parse(raw)


@pytest.fixture
def world(tmp_path):
  """A fake API, a bucket mirror, hosts and a runner for the example pod job."""

  def build(spec=None, **hosts_kwargs):
    spec = spec or make_spec()
    store = status_store.LocalDirStore(tmp_path / "bucket")
    hosts = Hosts(store, spec, **hosts_kwargs)
    fake = servers.enter_context(fake_tpu_server.FakeTpuServer(on_node_ready=hosts.boot))
    clock = Clock()
    clock.on_sleep.append(hosts.train_one_step)
    api = client_lib.TpuApi(fake.client(), clock=clock, backoff=operations.Backoff(5, 30, 2))
    lines = []
    runner = job_runner.JobRunner(api, store, poll_seconds=600, log=lines.append)
    return World(spec, fake, hosts, clock, runner, lines)

  with contextlib.ExitStack() as servers:
    yield build


@pytest.mark.parametrize("launch, reporting, says", [
    ("worker0", 1, "succeeded (worker 0 of 4 hosts)"),
    ("every_host", 4, "succeeded (all 4 hosts)"),
])
def test_create_ready_job_done_delete(world, launch, reporting, says):
  raw = yaml.safe_load(EXAMPLE.read_text())
  raw["code"]["launch"] = launch
  w = world(spec_lib.parse(raw))
  spec, fake, hosts, runner, lines = w.spec, w.fake, w.hosts, w.runner, w.lines
  result = runner.run(spec)
  assert result.state == job_runner.SUCCEEDED and result.attempts == 1
  assert hosts.starts == [(1, 0)]
  rpcs = fake.rpcs()
  assert rpcs.count("CreateQueuedResource") == 1 and rpcs[-2:] == ["DeleteQueuedResource",
                                                                   "GetOperation"]
  assert fake.queued == {} and fake.nodes == {}  # the slice is given back
  assert any(says in line for line in lines)
  markers = hosts.store.list(status_store.status_dir(spec.checkpoint_dir))
  assert len(markers) == reporting
  assert 0 < result.hours < 2  # 6 polls of 10 minutes plus provisioning


def test_preemption_recreates_the_slice_and_training_resumes_from_its_checkpoint(world):
  w = world(total_steps=6)
  spec, fake, hosts, clock, runner, lines = w.spec, w.fake, w.hosts, w.clock, w.runner, w.lines

  def preempt_at_step_3():
    if hosts.running and hosts.step() == 3 and hosts.running[1] == 1:
      fake.preempt(spec.name)
      hosts.preempted()

  clock.on_sleep.append(preempt_at_step_3)
  result = runner.run(spec)
  assert result.state == job_runner.SUCCEEDED and result.attempts == 2
  # The second slice started from step 3, not 0, and training ended at step 6.
  assert hosts.starts == [(1, 0), (2, 3)]
  assert hosts.step("gs://my-trellis-checkpoints/resnet50-v4-32/workdir") == 6
  creates = [r for rpc, r in fake.requests if rpc == "CreateQueuedResource"]
  assert len(creates) == 2
  first, second = (c.queued_resource.tpu.node_spec[0].node for c in creates)
  assert first.metadata["trellis-run-id"] == second.metadata["trellis-run-id"]
  assert (first.metadata["trellis-attempt"], second.metadata["trellis-attempt"]) == ("1", "2")
  assert "ATTEMPT=2" in second.metadata["startup-script"]
  # The re-created slice keeps the job's start (and its deadline) and queues only for the rest.
  assert first.metadata["trellis-started-at"] == second.metadata["trellis-started-at"] == "0"
  assert "DEADLINE=43200 " in second.metadata["startup-script"]
  validity = [c.queued_resource.queueing_policy.valid_until_duration.total_seconds()
              for c in creates]
  assert validity[0] == 12 * 3600 and 0 < validity[1] < validity[0] - 3 * 600
  rpcs = fake.rpcs()
  assert rpcs.count("DeleteQueuedResource") == 2  # the preempted one, then at the end
  assert rpcs.index("DeleteQueuedResource") < len(rpcs) - rpcs[::-1].index("CreateQueuedResource")
  assert any("was lost (its queued resource is SUSPENDED); re-creating it" in x for x in lines)
  assert fake.queued == {} and fake.nodes == {}


def test_after_a_preemption_a_full_zone_is_waited_out(world):
  w = world()
  spec, fake, hosts, runner, lines = w.spec, w.fake, w.hosts, w.runner, w.lines
  sleeps_without_capacity = []

  def preempt_at_step_2_and_take_the_capacity():
    if hosts.running and hosts.step() == 2 and hosts.running[1] == 1:
      fake.preempt(spec.name)
      hosts.preempted()
      fake.no_capacity_zones = (spec.zone,)
    elif fake.no_capacity_zones:
      sleeps_without_capacity.append(w.clock.now)
      if len(sleeps_without_capacity) == 2:
        fake.no_capacity_zones = ()  # capacity is back after two waits

  w.clock.on_sleep.append(preempt_at_step_2_and_take_the_capacity)
  result = runner.run(spec)
  assert result.state == job_runner.SUCCEEDED and result.attempts == 2
  assert fake.rpcs().count("CreateQueuedResource") == 4  # first, refused twice, then granted
  assert sum("no free capacity" in line and "trying again" in line for line in lines) == 2
  assert hosts.starts == [(1, 0), (2, 2)]


def test_a_failing_host_ends_the_run_and_deletes_the_slice(world):
  w = world(fail_worker=2)
  spec, fake, runner = w.spec, w.fake, w.runner
  result = runner.run(spec)
  assert result.state == job_runner.FAILED
  assert "failed on host(s) [2]" in result.message and "tpuctl logs" in result.message
  assert fake.queued == {} and fake.nodes == {}


def test_the_budget_deletes_the_slice_when_it_runs_out(world):
  spec = make_spec(budget={"max_hours": 1})
  w = world(spec, total_steps=100)
  spec, fake, clock, runner = w.spec, w.fake, w.clock, w.runner
  result = runner.run(spec)
  assert result.state == job_runner.BUDGET_EXHAUSTED
  assert clock.now == pytest.approx(3600)  # stopped exactly at the budget
  assert "raise budget.max_hours and `tpuctl run` again to resume" in result.message
  assert fake.queued == {} and fake.nodes == {}


def test_restarts_run_out_after_repeated_preemptions(world):
  spec = make_spec(budget={"max_hours": 12, "max_restarts": 1})
  w = world(spec, total_steps=100)
  spec, fake, hosts, clock, runner = w.spec, w.fake, w.hosts, w.clock, w.runner

  def preempt_every_second_step():
    if hosts.running and hosts.step() % 2 == 0:
      fake.preempt(spec.name)
      hosts.preempted()

  clock.on_sleep.append(preempt_every_second_step)
  result = runner.run(spec)
  assert result.state == job_runner.RESTARTS_EXHAUSTED and result.attempts == 2
  assert "budget.max_restarts is 1" in result.message
  assert fake.queued == {} and fake.nodes == {}


def test_a_second_run_reattaches_to_the_slice_of_the_first(world):
  w = world()
  spec, fake, runner, lines = w.spec, w.fake, w.runner, w.lines
  run_id, _, _ = runner.create_or_adopt(spec)  # e.g. `tpuctl create`, or a run cut off
  result = runner.run(spec)
  assert result.run_id == run_id and result.state == job_runner.SUCCEEDED
  assert fake.rpcs().count("CreateQueuedResource") == 1
  assert any(f"re-attaching to run {run_id}" in line for line in lines)


def test_a_foreign_node_with_the_same_name_is_not_touched(world):
  spec = make_spec(accelerator_type="v4-8", capacity="on-demand")
  w = world(spec)
  spec, fake, runner = w.spec, w.fake, w.runner
  api = runner.api
  foreign = api.node_message(spec, startup_script="", run_id="x")
  del foreign.labels["trellis-job"]
  api.create(spec, foreign)
  sent = len(fake.requests)
  with pytest.raises(errors.TpuError, match="was not created by tpuctl for job resnet50-v4-32"):
    runner.run(spec)
  assert [rpc for rpc in fake.rpcs()[sent:]] == ["GetNode"]  # looked, created and deleted nothing


def test_single_host_job_uses_create_node_and_ignores_an_old_runs_failure(world):
  spec = make_spec(accelerator_type="v4-8", capacity="on-demand")
  w = world(spec)
  spec, fake, hosts, runner = w.spec, w.fake, w.hosts, w.runner
  hosts.store.write(f"{status_store.status_dir(spec.checkpoint_dir)}/worker-0.json",
                    json.dumps({"state": "FAILED", "worker": 0, "run_id": "last-week"}))
  result = runner.run(spec)
  assert result.state == job_runner.SUCCEEDED
  assert "CreateNode" in fake.rpcs() and "CreateQueuedResource" not in fake.rpcs()
  assert fake.nodes == {}


def test_a_queued_request_that_fails_is_deleted_and_explained(world):
  w = world()
  spec, fake, runner = w.spec, w.fake, w.runner
  fake.queued_polls = 10  # still waiting for capacity when the service gives up on it
  w.clock.on_sleep.append(lambda: fake.fail_queued(
      spec.name, code_pb2.RESOURCE_EXHAUSTED, "There is no more capacity in the zone"))
  with pytest.raises(errors.CapacityError, match="another zone"):
    runner.run(spec)
  assert fake.queued == {} and fake.nodes == {}
  assert fake.rpcs()[-2:] == ["DeleteQueuedResource", "GetOperation"]


class FlakyStore(status_store.LocalDirStore):
  """A bucket mirror whose `list` fails on the calls numbered in `failures` (1-based)."""

  def __init__(self, root, failures):
    super().__init__(root)
    self.failures, self.calls = set(failures), 0

  def list(self, prefix):
    self.calls += 1
    if self.calls in self.failures:
      raise status_store.StoreError("cannot list: 503 Service Unavailable")
    return super().list(prefix)


def test_an_unreadable_bucket_stops_the_run_before_a_slice_is_created(world, tmp_path):
  w = world()
  w.runner.store = FlakyStore(tmp_path / "bucket", failures={1})
  with pytest.raises(status_store.StoreError):
    w.runner.run(w.spec)
  assert w.fake.requests == []


def test_a_storage_hiccup_during_the_run_is_retried(world, tmp_path):
  w = world()
  w.runner.store = w.hosts.store = FlakyStore(tmp_path / "bucket", failures={3, 4})
  result = w.runner.run(w.spec)
  assert result.state == job_runner.SUCCEEDED
  assert sum("trying again next poll" in line for line in w.lines) == 2


def test_a_run_that_reattaches_keeps_the_budget_of_the_job_it_finds(world):
  w = world(total_steps=1000)
  spec, fake, clock, runner, lines = w.spec, w.fake, w.clock, w.runner, w.lines
  run_id, _, started = runner.create_or_adopt(spec)  # `tpuctl create`, or a run cut off
  node = next(iter(fake.queued.values())).tpu.node_spec[0].node
  assert started == 0 and node.metadata["trellis-started-at"] == "0"
  clock.now = 11 * 3600  # 11 hours later, someone runs it again
  result = runner.run(spec)
  assert result.run_id == run_id and result.state == job_runner.BUDGET_EXHAUSTED
  assert clock.now == pytest.approx(12 * 3600)  # 12 h after the job's start, not the re-run's
  assert result.hours == pytest.approx(12)
  assert any("its budget started at 1970-01-01T00:00:00Z: 1.00 h left" in x for x in lines)
  assert fake.queued == {} and fake.nodes == {}


def test_hosts_that_stopped_the_job_at_the_budget_end_the_run(world):
  w = world(total_steps=100)
  spec, hosts, runner = w.spec, w.hosts, w.runner

  def the_hosts_deadline_comes_first():
    if hosts.running and hosts.step() == 2:
      hosts._mark(status_store.BUDGET_EXCEEDED, 0, exit_code=124)
      hosts.running = None

  w.clock.on_sleep.append(the_hosts_deadline_comes_first)
  result = runner.run(spec)
  assert result.state == job_runner.BUDGET_EXHAUSTED
  assert "the hosts stopped the job at the budget's end" in result.message
  assert w.fake.queued == {} and w.fake.nodes == {}


def test_a_slice_from_an_older_tpuctl_gets_its_budget_from_now(world):
  w = world()
  spec, fake, runner, lines = w.spec, w.fake, w.runner, w.lines
  runner.create_or_adopt(spec)
  for node in fake.nodes.values():
    del node.metadata["trellis-started-at"]
  for queued in fake.queued.values():
    del queued.tpu.node_spec[0].node.metadata["trellis-started-at"]
  w.clock.now = 5000
  assert runner.create_or_adopt(spec).started_at == 5000
  assert any("does not say when its job started" in line for line in lines)
