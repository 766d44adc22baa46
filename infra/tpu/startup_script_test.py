"""Tests for the startup script: rendered from the spec, and run for real under bash.

`fake_host.FakeHost` runs the script with stand-ins for git, make, bazel and `gcloud storage`,
so the worker index, launch mode, status markers, log upload and exit codes are exercised as
on a TPU host.
"""

import json
import os
import pathlib
import subprocess

import pytest
import yaml

from infra.tpu import fake_host, startup_script, status_store
from infra.tpu import spec as spec_lib

EXAMPLE = pathlib.Path(__file__).parent / "jobs" / "resnet50_v4_32.yaml"
GS_JOB = "gs://my-trellis-checkpoints/resnet50-v4-32"


def single_host_spec(checkpoint_dir: str) -> spec_lib.JobSpec:
  raw = yaml.safe_load(EXAMPLE.read_text())
  raw.update(accelerator_type="v4-8", capacity="on-demand", checkpoint_dir=checkpoint_dir)
  return spec_lib.parse(raw)


def pod_spec(launch: str) -> spec_lib.JobSpec:
  raw = yaml.safe_load(EXAMPLE.read_text())
  raw["code"]["launch"] = launch
  return spec_lib.parse(raw)


def test_renders_the_pinned_revision_target_and_quoted_args():
  spec = spec_lib.load(EXAMPLE)
  script = startup_script.render(spec, run_id="abc123", attempt=2)
  assert "git checkout --quiet --force 6570d5c8f1eb63edfeac7d84901555bb1f644ceb" in script
  assert ("exec bazel run //vision:train -- --config=vision/configs/resnet50_tpu_pod.py "
          f"--workdir={GS_JOB}/workdir") in script
  assert "'--config.data.train_files=gs://my-trellis-data/imagenet/train-*'" in script  # no glob
  assert "RUN_ID=abc123\nATTEMPT=2\n" in script
  assert "TRELLIS_NUM_HOSTS=4" in script
  subprocess.run(["bash", "-n"], input=script, text=True, check=True)  # it parses


def test_hostile_args_are_quoted(tmp_path):
  spec = single_host_spec(f"file://{tmp_path}/ckpt")
  spec = spec_lib.JobSpec(**{**spec.__dict__, "code": spec_lib.Code(
      spec.code.repo, spec.code.revision, spec.code.target, ("--note=$(touch pwned); x",))})
  host = fake_host.FakeHost(tmp_path / "host")
  result = host.run(startup_script.render(spec, run_id="r", attempt=1))
  assert result.returncode == 0, result.stderr
  assert not (tmp_path / "host" / "code" / "pwned").exists()
  assert "--note=$(touch pwned); x" in (tmp_path / "host" / "job.log").read_text()


def test_a_successful_job_leaves_a_log_and_a_succeeded_marker(tmp_path):
  ckpt = f"file://{tmp_path}/ckpt"
  host = fake_host.FakeHost(tmp_path / "host")
  result = host.run(startup_script.render(single_host_spec(ckpt), run_id="run7", attempt=1))
  assert result.returncode == 0, result.stderr
  store = status_store.LocalDirStore()
  marker = json.loads(store.read(f"{ckpt}/tpuctl/status/worker-0.json"))
  assert marker["state"] == "SUCCEEDED" and marker["exit_code"] == 0
  assert marker["run_id"] == "run7" and marker["attempt"] == 1
  log = store.read(f"{ckpt}/tpuctl/logs/worker-0.log")
  assert "bazel run //vision:train -- --config=vision/configs/resnet50_tpu_pod.py" in log
  assert "worker=0 hosts=1 load_library=unset" in log
  commands = host.commands()
  assert "make setup" in commands and "git checkout --quiet --force 6570d5c8" in commands


@pytest.mark.parametrize("env, worker", [
    ({"FAKE_WORKER": "3"}, 3),                    # from the TPU VM hostname (…-w-3)
    ({"TPU_WORKER_ID": "2", "FAKE_WORKER": "0"}, 2),  # the runtime's variable comes first
])
def test_each_host_finds_its_worker_index(tmp_path, env, worker):
  ckpt = f"file://{tmp_path}/ckpt"
  host = fake_host.FakeHost(tmp_path / "host")
  result = host.run(startup_script.render(single_host_spec(ckpt), run_id="r", attempt=1), **env)
  assert result.returncode == 0, result.stderr
  assert os.listdir(f"{tmp_path}/ckpt/tpuctl/status") == [f"worker-{worker}.json"]
  log = (tmp_path / "ckpt/tpuctl/logs" / f"worker-{worker}.log").read_text()
  assert f"worker={worker} " in log


def test_a_failing_job_leaves_a_failed_marker_with_its_exit_code(tmp_path):
  ckpt = f"file://{tmp_path}/ckpt"
  host = fake_host.FakeHost(tmp_path / "host", bazel_exit=3)
  result = host.run(startup_script.render(single_host_spec(ckpt), run_id="r", attempt=1))
  assert result.returncode == 3
  marker = json.loads((tmp_path / "ckpt/tpuctl/status/worker-0.json").read_text())
  assert marker["state"] == "FAILED" and marker["exit_code"] == 3


def test_tensorflow_pod_runs_the_job_on_worker0_only(tmp_path):
  script = startup_script.render(pod_spec("worker0"), run_id="r", attempt=1)
  other = fake_host.FakeHost(tmp_path / "w1", worker=1)
  result = other.run(script)
  assert result.returncode == 0 and "serves its TPUs to worker 0" in result.stdout
  assert not other.buckets.exists() and other.commands() == ""  # wrote and ran nothing
  first = fake_host.FakeHost(tmp_path / "w0", worker=0)
  result = first.run(script)
  assert result.returncode == 0, result.stderr
  store = status_store.LocalDirStore(first.buckets)  # written through `gcloud storage cp`
  assert store.list(f"{GS_JOB}/tpuctl/status") == [f"{GS_JOB}/tpuctl/status/worker-0.json"]
  log = store.read(f"{GS_JOB}/tpuctl/logs/worker-0.log")
  # Worker 0's TensorFlow reaches the chips through the TPU runtime, like the other hosts'.
  assert "worker=0 hosts=4 load_library=0" in log
  assert "--config.distribution.tpu.name=resnet50-v4-32" in log


def test_every_host_launch_runs_the_job_on_each_host(tmp_path):
  script = startup_script.render(pod_spec("every_host"), run_id="r", attempt=1)
  host = fake_host.FakeHost(tmp_path / "w2", worker=2)
  result = host.run(script)
  assert result.returncode == 0, result.stderr
  store = status_store.LocalDirStore(host.buckets)
  marker = json.loads(store.read(f"{GS_JOB}/tpuctl/status/worker-2.json"))
  assert marker["state"] == "SUCCEEDED" and marker["worker"] == 2
  assert "worker=2 hosts=4 load_library=unset" in store.read(
      f"{GS_JOB}/tpuctl/logs/worker-2.log")
