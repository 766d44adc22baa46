"""Tests for the startup script: rendered from the spec, and run for real under bash.

`fake_host.FakeHost` runs the script with stand-ins for git, make, bazel and `gcloud storage`,
so the worker index, launch mode, status markers, log upload and exit codes are exercised as
on a TPU host.
"""

import json
import os
import pathlib
import subprocess
import time

import pytest
import yaml

from infra.tpu import fake_host, startup_script, status_store
from infra.tpu import spec as spec_lib

EXAMPLE = pathlib.Path(__file__).parent / "jobs" / "resnet50_v4_32.yaml"
GS_JOB = "gs://my-trellis-checkpoints/resnet50-v4-32"
GS_MODELS = "gs://my-trellis-models/vision"
WHERE = "--project=my-trellis-project --zone=us-central2-b --async --quiet"
GIVE_BACK_NODE = f"gcloud compute tpus tpu-vm delete resnet50-v4-32 {WHERE}"
GIVE_BACK_QUEUED = f"gcloud compute tpus queued-resources delete resnet50-v4-32 {WHERE} --force"


def render(spec: spec_lib.JobSpec, *, started_at: float | None = None, **kwargs) -> str:
  """The script of a job that started now (its 12 h budget is far from over) unless told."""
  return startup_script.render(spec, started_at=time.time() if started_at is None else started_at,
                               **kwargs)


def single_host_spec(checkpoint_dir: str, **changes) -> spec_lib.JobSpec:
  raw = yaml.safe_load(EXAMPLE.read_text())
  raw.update(accelerator_type="v4-8", capacity="on-demand", checkpoint_dir=checkpoint_dir,
             **changes)
  return spec_lib.parse(raw)


def without_export(spec: spec_lib.JobSpec) -> spec_lib.JobSpec:
  return spec_lib.JobSpec(**{**spec.__dict__, "export_root": None, "code": spec_lib.Code(
      **{**spec.code.__dict__, "export": None})})


def pod_spec(launch: str) -> spec_lib.JobSpec:
  raw = yaml.safe_load(EXAMPLE.read_text())
  raw["code"]["launch"] = launch
  return spec_lib.parse(raw)


def test_renders_the_pinned_revision_target_and_quoted_args():
  spec = spec_lib.load(EXAMPLE)
  script = render(spec, run_id="abc123", attempt=2)
  assert "git checkout --quiet --force 6570d5c8f1eb63edfeac7d84901555bb1f644ceb" in script
  assert ('\n  "$PYTHON" -m vision.main --config=vision/configs/resnet50_tpu_pod.py '
          f"--workdir={GS_JOB}/workdir") in script
  # The export runs on this host's copies of checkpoint_dir and export_root.
  assert ('\n    "$PYTHON" -m vision.export --workdir="$LOCAL_CHECKPOINT_DIR"/workdir '
          '--export_root="$LOCAL_EXPORT_ROOT"\n') in script
  assert "EXPORT_ROOT=gs://my-trellis-models/vision\n" in script
  assert "'--config.data.train_files=gs://my-trellis-data/imagenet/train-*'" in script  # no glob
  assert "RUN_ID=abc123\nATTEMPT=2\n" in script
  assert "TRELLIS_NUM_HOSTS=4" in script
  subprocess.run(["bash", "-n"], input=script, text=True, check=True)  # it parses


def test_hostile_args_are_quoted(tmp_path):
  spec = single_host_spec(f"file://{tmp_path}/ckpt")
  spec = spec_lib.JobSpec(**{**spec.__dict__, "code": spec_lib.Code(
      spec.code.repo, spec.code.revision, spec.code.target, ("--note=$(touch pwned); x",))})
  host = fake_host.FakeHost(tmp_path / "host")
  result = host.run(render(spec, run_id="r", attempt=1))
  assert result.returncode == 0, result.stderr
  assert not (tmp_path / "host" / "code" / "pwned").exists()
  assert "--note=$(touch pwned); x" in (tmp_path / "host" / "job.log").read_text()


def test_a_successful_job_leaves_a_log_and_a_succeeded_marker(tmp_path):
  ckpt = f"file://{tmp_path}/ckpt"
  host = fake_host.FakeHost(tmp_path / "host")
  result = host.run(render(single_host_spec(ckpt), run_id="run7", attempt=1))
  assert result.returncode == 0, result.stderr
  store = status_store.LocalDirStore()
  marker = json.loads(store.read(f"{ckpt}/tpuctl/status/worker-0.json"))
  assert marker["state"] == "SUCCEEDED" and marker["exit_code"] == 0
  assert marker["run_id"] == "run7" and marker["attempt"] == 1
  log = store.read(f"{ckpt}/tpuctl/logs/worker-0.log")
  assert "python -m vision.main --config=vision/configs/resnet50_tpu_pod.py" in log
  assert "worker=0 hosts=1 load_library=unset" in log
  commands = host.commands()
  assert "make setup-tpu" in commands and "git checkout --quiet --force 6570d5c8" in commands
  # The job is over, so worker 0 gives the slice back (as `tpuctl run` would have).
  assert commands.endswith(f"{GIVE_BACK_NODE}\n")


@pytest.mark.parametrize("env, worker", [
    ({"FAKE_WORKER": "3"}, 3),                    # from the TPU VM hostname (…-w-3)
    ({"TPU_WORKER_ID": "2", "FAKE_WORKER": "0"}, 2),  # the runtime's variable comes first
])
def test_each_host_finds_its_worker_index(tmp_path, env, worker):
  ckpt = f"file://{tmp_path}/ckpt"
  host = fake_host.FakeHost(tmp_path / "host")
  result = host.run(render(single_host_spec(ckpt), run_id="r", attempt=1), **env)
  assert result.returncode == 0, result.stderr
  assert os.listdir(f"{tmp_path}/ckpt/tpuctl/status") == [f"worker-{worker}.json"]
  log = (tmp_path / "ckpt/tpuctl/logs" / f"worker-{worker}.log").read_text()
  assert f"worker={worker} " in log


def test_a_failing_job_leaves_a_failed_marker_with_its_exit_code(tmp_path):
  ckpt = f"file://{tmp_path}/ckpt"
  host = fake_host.FakeHost(tmp_path / "host", bazel_exit=3)
  result = host.run(render(single_host_spec(ckpt), run_id="r", attempt=1))
  assert result.returncode == 3
  marker = json.loads((tmp_path / "ckpt/tpuctl/status/worker-0.json").read_text())
  assert marker["state"] == "FAILED" and marker["exit_code"] == 3


def test_tensorflow_pod_runs_the_job_on_worker0_only(tmp_path):
  script = render(pod_spec("worker0"), run_id="r", attempt=1)
  other = fake_host.FakeHost(tmp_path / "w1", worker=1)
  result = other.run(script)
  assert result.returncode == 0 and "serves its TPUs to worker 0" in result.stdout
  assert not other.buckets.exists()  # no marker: only worker 0 reports
  # It installed the TPU lock and served its chips (on a bare image nothing else would).
  assert other.commands().splitlines()[-2:] == [
      "make setup-tpu", "python -m common.distribute.tpu_server --port=8470"]
  first = fake_host.FakeHost(tmp_path / "w0", worker=0)
  result = first.run(script)
  assert result.returncode == 0, result.stderr
  store = status_store.LocalDirStore(first.buckets)  # written through `gcloud storage cp`
  assert store.list(f"{GS_JOB}/tpuctl/status") == [f"{GS_JOB}/tpuctl/status/worker-0.json"]
  log = store.read(f"{GS_JOB}/tpuctl/logs/worker-0.log")
  # Worker 0's TensorFlow reaches the chips through the TPU servers, its own among them.
  assert "worker=0 hosts=4 load_library=0" in log
  assert "python -m common.distribute.tpu_server --port=8470" in first.commands()
  assert "--config.distribution.tpu.name=resnet50-v4-32" in log


def test_every_host_launch_runs_the_job_on_each_host(tmp_path):
  script = render(pod_spec("every_host"), run_id="r", attempt=1)
  host = fake_host.FakeHost(tmp_path / "w2", worker=2)
  result = host.run(script)
  assert result.returncode == 0, result.stderr
  store = status_store.LocalDirStore(host.buckets)
  marker = json.loads(store.read(f"{GS_JOB}/tpuctl/status/worker-2.json"))
  assert marker["state"] == "SUCCEEDED" and marker["worker"] == 2
  assert "worker=2 hosts=4 load_library=unset" in store.read(
      f"{GS_JOB}/tpuctl/logs/worker-2.log")
  assert "compute tpus" not in host.commands()  # only worker 0 gives the slice back
  first = fake_host.FakeHost(tmp_path / "w0", worker=0)
  assert first.run(script).returncode == 0
  assert GIVE_BACK_QUEUED in first.commands().splitlines()  # a pod slice is a queued resource


def test_after_training_worker0_exports_from_a_copy_of_the_checkpoints_to_the_next_version(
    tmp_path):
  spec = pod_spec("worker0")
  host = fake_host.FakeHost(tmp_path / "w0", worker=0)
  bucket = status_store.LocalDirStore(host.buckets)
  bucket.write(f"{GS_JOB}/workdir/config.json", "{}")  # what training left in checkpoint_dir
  bucket.write(f"{GS_MODELS}/m/1/saved_model.pb", "last week's model")
  result = host.run(render(spec, run_id="r", attempt=1))
  assert result.returncode == 0, result.stderr
  marker = json.loads(bucket.read(f"{GS_JOB}/tpuctl/status/worker-0.json"))
  assert marker["state"] == "SUCCEEDED"
  # Version 2 was published beside version 1, which is untouched.
  assert bucket.read(f"{GS_MODELS}/m/2/saved_model.pb") == "exported\n"
  assert bucket.read(f"{GS_MODELS}/m/1/saved_model.pb") == "last week's model"
  staging = tmp_path / "w0" / "export-staging"
  assert (staging / "checkpoint" / "workdir" / "config.json").read_text() == "{}"
  commands = host.commands().splitlines()
  assert (f"python -m vision.export --workdir={staging}/checkpoint/workdir "
          f"--export_root={staging}/exports") in commands
  # Training ran first with the real paths, and the job knew where exports go.
  assert commands.index(next(c for c in commands if c.startswith("python -m vision.main"))) \
      < commands.index(next(c for c in commands if c.startswith("python -m vision.export")))
  log = bucket.read(f"{GS_JOB}/tpuctl/logs/worker-0.log")
  assert f"export_root={GS_MODELS}" in log
  assert f"training succeeded; exporting to {GS_MODELS}" in log


def test_a_failed_training_is_not_exported_and_a_failed_export_fails_the_job(tmp_path):
  spec = pod_spec("worker0")
  script = render(spec, run_id="r", attempt=1)
  failed_training = fake_host.FakeHost(tmp_path / "a", bazel_exit=3)
  assert failed_training.run(script).returncode == 3
  assert "vision.export" not in failed_training.commands()
  failed_export = fake_host.FakeHost(tmp_path / "b")
  status_store.LocalDirStore(failed_export.buckets).write(f"{GS_JOB}/workdir/x", "")
  assert failed_export.run(script, FAKE_EXPORT_EXIT="4").returncode == 4
  marker = json.loads(status_store.LocalDirStore(failed_export.buckets).read(
      f"{GS_JOB}/tpuctl/status/worker-0.json"))
  assert marker["state"] == "FAILED" and marker["exit_code"] == 4


def test_a_single_host_exports_to_a_local_export_root_in_place(tmp_path):
  spec = single_host_spec(f"file://{tmp_path}/ckpt", export_root=f"file://{tmp_path}/models")
  host = fake_host.FakeHost(tmp_path / "host")
  result = host.run(render(spec, run_id="r", attempt=1))
  assert result.returncode == 0, result.stderr
  assert (tmp_path / "models" / "m" / "1" / "saved_model.pb").is_file()
  assert (f"python -m vision.export --workdir={tmp_path}/ckpt/workdir "
          f"--export_root={tmp_path}/models") in host.commands()
  assert "gcloud storage" not in host.commands()  # nothing to copy


def test_without_an_export_the_target_is_the_whole_job(tmp_path):
  spec = without_export(single_host_spec(f"file://{tmp_path}/ckpt"))
  script = render(spec, run_id="r", attempt=1)
  assert "EXPORT" not in script and "\n  exec \"$PYTHON\" -m vision.main " in script
  host = fake_host.FakeHost(tmp_path / "host")
  assert host.run(script).returncode == 0
  assert "vision.export" not in host.commands()


def budget_spec(tmp_path) -> spec_lib.JobSpec:
  return without_export(single_host_spec(f"file://{tmp_path}/ckpt"))


def test_the_job_is_stopped_when_its_budget_ends_and_the_slice_is_given_back(tmp_path):
  spec = budget_spec(tmp_path)
  # The job started 12 h minus 2 s ago: 2 s of its budget are left, and training takes 60 s.
  script = render(spec, run_id="r", attempt=2, started_at=time.time() - 12 * 3600 + 2)
  host = fake_host.FakeHost(tmp_path / "host", bazel_seconds=60)
  began = time.monotonic()
  result = host.run(script)
  assert time.monotonic() - began < 30  # stopped at the deadline, not after training
  assert result.returncode == 124
  marker = json.loads((tmp_path / "ckpt/tpuctl/status/worker-0.json").read_text())
  assert marker["state"] == "BUDGET_EXCEEDED" and marker["exit_code"] == 124
  assert marker["attempt"] == 2
  assert "python -m vision.main" in (tmp_path / "ckpt/tpuctl/logs/worker-0.log").read_text()
  assert host.commands().endswith(f"{GIVE_BACK_NODE}\n")


def test_a_host_that_boots_after_the_budget_ended_does_not_start_the_job(tmp_path):
  spec = budget_spec(tmp_path)
  script = render(spec, run_id="r", attempt=1, started_at=1767225600)  # 2026-01-01T00:00:00Z
  assert "DEADLINE=1767268800    # 2026-01-01T12:00:00Z\n" in script
  host = fake_host.FakeHost(tmp_path / "host")
  result = host.run(script)
  assert result.returncode == 124
  marker = json.loads((tmp_path / "ckpt/tpuctl/status/worker-0.json").read_text())
  assert marker["state"] == "BUDGET_EXCEEDED"
  assert "python" not in host.commands() and "git" not in host.commands()
  assert ("its budget ended at 2026-01-01T12:00:00Z; not starting it"
          in (tmp_path / "ckpt/tpuctl/logs/worker-0.log").read_text())
  assert host.commands().endswith(f"{GIVE_BACK_NODE}\n")


def test_a_job_that_fails_on_its_own_before_the_deadline_is_failed_not_over_budget(tmp_path):
  spec = budget_spec(tmp_path)
  host = fake_host.FakeHost(tmp_path / "host", bazel_exit=124)  # its own 124, not timeout's
  assert host.run(render(spec, run_id="r", attempt=1)).returncode == 124
  marker = json.loads((tmp_path / "ckpt/tpuctl/status/worker-0.json").read_text())
  assert marker["state"] == "FAILED"
