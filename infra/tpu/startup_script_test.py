"""Tests for the startup script: rendered from the spec, and run for real under bash.

The script runs with stand-ins for git, make and bazel on PATH and a file:// checkpoint dir,
so the worker index, status markers and log upload are exercised as on a TPU host.
"""

import json
import os
import pathlib
import stat
import subprocess

import pytest
import yaml

from infra.tpu import spec as spec_lib
from infra.tpu import startup_script, status_store

EXAMPLE = pathlib.Path(__file__).parent / "jobs" / "resnet50_v4_32.yaml"

STUBS = {
    # git clone URL DIR makes DIR a "repository"; checkout and fetch succeed.
    "git": 'if [ "$1" = clone ]; then mkdir -p "$4/.git"; fi; echo "git $*" >> "$STUB_LOG"',
    "make": 'echo "make $*" >> "$STUB_LOG"',
    "bazel": 'echo "bazel $*"; echo "worker=$TPU_WORKER_ID hosts=$TRELLIS_NUM_HOSTS '
             'load_library=${TPU_LOAD_LIBRARY:-unset}"; exit "${FAKE_EXIT:-0}"',
    # gcloud storage cp - gs://B/P writes $BUCKETS/B/P, standing in for Cloud Storage.
    "gcloud": '[ "$1 $2 $3 $4" = "storage cp --quiet -" ] || exit 2; dest="$BUCKETS/${5#gs://}"; '
              'mkdir -p "$(dirname "$dest")"; cat > "$dest"',
    "python3.11": "exit 0",
    "curl": "exit 7",  # no metadata server here
    "apt-get": "echo apt-get must not run; exit 1",
    "hostname": 'echo "${FAKE_HOSTNAME:-t1v-n-0a1b2c-w-0}"',
}


def single_host_spec(checkpoint_dir: str) -> spec_lib.JobSpec:
  raw = yaml.safe_load(EXAMPLE.read_text())
  raw.update(accelerator_type="v4-8", capacity="on-demand", checkpoint_dir=checkpoint_dir)
  return spec_lib.parse(raw)


def run_script(tmp_path, script: str, **env) -> subprocess.CompletedProcess:
  stubs = tmp_path / "stubs"
  stubs.mkdir(exist_ok=True)
  for name, body in STUBS.items():
    (stubs / name).write_text(f"#!/bin/bash\n{body}\n")
    (stubs / name).chmod(stat.S_IRWXU)
  path = tmp_path / "startup.sh"
  path.write_text(script)
  environment = {
      "PATH": f"{stubs}:/usr/bin:/bin", "HOME": str(tmp_path), "STUB_LOG": str(tmp_path / "stubs.log"),
      "TRELLIS_CODE_DIR": str(tmp_path / "code"), "TRELLIS_LOG_FILE": str(tmp_path / "job.log"),
      "BUCKETS": str(tmp_path / "buckets"),
      **env}
  return subprocess.run(["bash", str(path)], env=environment, capture_output=True, text=True,
                        timeout=60, check=False)


def test_renders_the_pinned_revision_target_and_quoted_args():
  spec = spec_lib.load(EXAMPLE)
  script = startup_script.render(spec, run_id="abc123", attempt=2)
  assert "git checkout --quiet --force 6570d5c8f1eb63edfeac7d84901555bb1f644ceb" in script
  assert ("exec bazel run //vision:train -- --config=vision/configs/resnet50_tpu_pod.py "
          "--workdir=gs://my-trellis-checkpoints/resnet50-v4-32/workdir") in script
  assert "RUN_ID=abc123\nATTEMPT=2\n" in script
  assert "TRELLIS_NUM_HOSTS=4" in script
  subprocess.run(["bash", "-n"], input=script, text=True, check=True)  # it parses


def test_hostile_args_are_quoted(tmp_path):
  spec = single_host_spec(f"file://{tmp_path}/ckpt")
  spec = spec_lib.JobSpec(**{**spec.__dict__, "code": spec_lib.Code(
      spec.code.repo, spec.code.revision, spec.code.target, ("--note=$(touch pwned); x",))})
  result = run_script(tmp_path, startup_script.render(spec, run_id="r", attempt=1))
  assert result.returncode == 0, result.stderr
  assert not (tmp_path / "code" / "pwned").exists()
  assert "--note=$(touch pwned); x" in (tmp_path / "job.log").read_text()


def test_a_successful_job_leaves_a_log_and_a_succeeded_marker(tmp_path):
  ckpt = f"file://{tmp_path}/ckpt"
  spec = single_host_spec(ckpt)
  result = run_script(tmp_path, startup_script.render(spec, run_id="run7", attempt=1))
  assert result.returncode == 0, result.stderr
  store = status_store.LocalDirStore()
  marker = json.loads(store.read(f"{ckpt}/tpuctl/status/worker-0.json"))
  assert marker["state"] == "SUCCEEDED" and marker["exit_code"] == 0
  assert marker["run_id"] == "run7" and marker["attempt"] == 1
  log = store.read(f"{ckpt}/tpuctl/logs/worker-0.log")
  assert "bazel run //vision:train -- --config=vision/configs/resnet50_tpu_pod.py" in log
  assert "worker=0 hosts=1 load_library=unset" in log
  steps = (tmp_path / "stubs.log").read_text()
  assert "make setup" in steps and "git checkout --quiet --force 6570d5c8" in steps


@pytest.mark.parametrize("env, worker", [
    ({"FAKE_HOSTNAME": "t1v-n-0a1b2c-w-3"}, 3),  # from the TPU VM hostname
    ({"TPU_WORKER_ID": "2"}, 2),                  # from the runtime's variable
])
def test_each_host_finds_its_worker_index(tmp_path, env, worker):
  ckpt = f"file://{tmp_path}/ckpt"
  result = run_script(tmp_path, startup_script.render(single_host_spec(ckpt), run_id="r",
                                                      attempt=1), **env)
  assert result.returncode == 0, result.stderr
  assert os.listdir(f"{tmp_path}/ckpt/tpuctl/status") == [f"worker-{worker}.json"]
  assert f"worker={worker} " in (tmp_path / "ckpt/tpuctl/logs" / f"worker-{worker}.log").read_text()


def test_a_failing_job_leaves_a_failed_marker_with_its_exit_code(tmp_path):
  ckpt = f"file://{tmp_path}/ckpt"
  result = run_script(tmp_path, startup_script.render(single_host_spec(ckpt), run_id="r",
                                                      attempt=1), FAKE_EXIT="3")
  assert result.returncode == 3
  marker = json.loads((tmp_path / "ckpt/tpuctl/status/worker-0.json").read_text())
  assert marker["state"] == "FAILED" and marker["exit_code"] == 3


def pod_spec(launch: str) -> spec_lib.JobSpec:
  raw = yaml.safe_load(EXAMPLE.read_text())
  raw["code"]["launch"] = launch
  return spec_lib.parse(raw)


def test_tensorflow_pod_runs_the_job_on_worker0_only(tmp_path):
  script = startup_script.render(pod_spec("worker0"), run_id="r", attempt=1)
  store = status_store.LocalDirStore(tmp_path / "buckets")
  status = "gs://my-trellis-checkpoints/resnet50-v4-32/tpuctl/status"
  other = run_script(tmp_path, script, TPU_WORKER_ID="1")
  assert other.returncode == 0 and "serves its TPUs to worker 0" in other.stdout
  assert store.list(status) == [] and not (tmp_path / "stubs.log").exists()  # ran nothing
  first = run_script(tmp_path, script, TPU_WORKER_ID="0")
  assert first.returncode == 0, first.stderr
  assert store.list(status) == [f"{status}/worker-0.json"]  # through `gcloud storage cp`
  log = store.read("gs://my-trellis-checkpoints/resnet50-v4-32/tpuctl/logs/worker-0.log")
  # Worker 0's TensorFlow reaches the chips through the TPU runtime, like the other hosts'.
  assert "worker=0 hosts=4 load_library=0" in log
  assert "--config.distribution.tpu.name=resnet50-v4-32" in log


def test_every_host_launch_runs_the_job_on_each_host(tmp_path):
  script = startup_script.render(pod_spec("every_host"), run_id="r", attempt=1)
  result = run_script(tmp_path, script, TPU_WORKER_ID="2")
  assert result.returncode == 0, result.stderr
  store = status_store.LocalDirStore(tmp_path / "buckets")
  marker = json.loads(store.read(
      "gs://my-trellis-checkpoints/resnet50-v4-32/tpuctl/status/worker-2.json"))
  assert marker["state"] == "SUCCEEDED" and marker["worker"] == 2
  log = store.read("gs://my-trellis-checkpoints/resnet50-v4-32/tpuctl/logs/worker-2.log")
  assert "worker=2 hosts=4 load_library=unset" in log
