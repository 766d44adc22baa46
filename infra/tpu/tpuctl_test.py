"""Tests for the tpuctl command line against the fake Cloud TPU API."""

import io
import json
import pathlib
import re
import time

import pytest
import yaml

from infra.tpu import fake_host, fake_tpu_server, tpuctl

HERE = pathlib.Path(__file__).parent
EXAMPLE = HERE / "jobs" / "resnet50_v4_32.yaml"
ROOT = HERE.parent.parent
READMES = (HERE / "README.md",)  # shows the ResNet-50 dry run


def write_spec(tmp_path, **changes) -> str:
  raw = yaml.safe_load(EXAMPLE.read_text())
  for key, value in changes.items():
    if value is None:
      del raw[key]
    else:
      raw[key] = value
  path = tmp_path / "job.yaml"
  path.write_text(yaml.safe_dump(raw))
  return str(path)


def run(*argv) -> tuple[int, str]:
  out = io.StringIO()
  code = tpuctl.main(list(argv), out=out)
  return code, out.getvalue()


@pytest.mark.parametrize("changes, says", [
    ({"accelerator_type": "v4-48"}, "accelerator_type: accelerator_type 'v4-48': v4 slices do "
                                    "not come with 48 cores; use one of: 8, 16, 32"),
    ({"zone": None}, "zone: is missing; add it to the job spec"),
    ({"checkpoint_dir": "file:///data/ckpt"}, "checkpoint_dir: 'file:///data/ckpt' is not a "
                                              "gs:// path, but v4-32 is a pod slice of 4 hosts"),
])
@pytest.mark.parametrize("command", ["run", "create", "delete"])
def test_bad_specs_are_rejected_before_any_request(tmp_path, capsys, changes, says, command):
  path = write_spec(tmp_path, **changes)
  with fake_tpu_server.FakeTpuServer() as fake:
    code, _ = run(command, path, "--endpoint", fake.address)
    assert fake.requests == []  # nothing reached the API
  assert code == 2
  assert says in capsys.readouterr().err


def test_dry_run_sends_nothing_and_the_readme_shows_its_output():
  with fake_tpu_server.FakeTpuServer() as fake:
    code, out = run("run", "infra/tpu/jobs/resnet50_v4_32.yaml", "--dry-run",
                    "--endpoint", fake.address)
    assert fake.requests == []
  assert code == 0
  lines = out.splitlines()
  requests = [line.split(" ")[0] for line in lines if re.fullmatch(r"[A-Z]\w+ \{", line)]
  assert requests == ["GetNode", "GetQueuedResource", "CreateQueuedResource",
                      "DeleteQueuedResource"]
  # The hosts run the TPU lock's Python (make setup-tpu), on the lock's bare image.
  assert '"runtimeVersion": "tpu-ubuntu2204-base"' in out
  assert "make setup-tpu" in out and "make setup\\n" not in out
  assert '  \\"$PYTHON\\" -m vision.main --config=vision/configs/resnet50_tpu_pod.py' in out
  assert '    \\"$PYTHON\\" -m vision.export --workdir=' in out  # then the export
  assert "EXPORT_ROOT=gs://my-trellis-models/vision\n" in out
  # The budget, held by the hosts too: a fixed start in a dry run, so the output is stable.
  assert '"trellis-started-at": "1767225600"' in out
  assert "\nDEADLINE=1767268800    # 2026-01-01T12:00:00Z\n" in out
  # infra/tpu/README.md carries this exact output, so it does not go stale.
  stale = [readme for readme in READMES if out not in readme.read_text()]
  assert not stale, (
      f"{', '.join(str(r.relative_to(ROOT)) for r in stale)}: the dry-run block is out of date; "
      "paste the output of "
      "`bazel run //infra/tpu:tpuctl -- run infra/tpu/jobs/resnet50_v4_32.yaml --dry-run`")


def test_quota_error_reaches_the_user_with_the_fix(tmp_path, capsys, monkeypatch):
  monkeypatch.setenv("PATH", str(tmp_path))  # no gcloud or gsutil: `create` needs neither
  with fake_tpu_server.FakeTpuServer(quota={"v4": 8}) as fake:
    code, _ = run("create", str(EXAMPLE), "--endpoint", fake.address)
    assert fake.rpcs()[-1] == "CreateQueuedResource"
  err = capsys.readouterr().err
  assert code == 2
  assert err.startswith("tpuctl: error: cannot create v4-32 slice resnet50-v4-32 in "
                        "us-central2-b: TPU quota exhausted for v4-32")
  assert "request more quota" in err


def test_run_without_a_store_root_never_reaches_cloud_storage_from_a_test():
  with fake_tpu_server.FakeTpuServer() as fake:
    with pytest.raises(RuntimeError, match="refusing to reach Cloud Storage"):
      run("run", str(EXAMPLE), "--endpoint", fake.address)
    assert fake.requests == []  # the bucket is checked before any slice is asked for


def test_deleting_a_slice_that_does_not_exist_says_so(capsys):
  with fake_tpu_server.FakeTpuServer() as fake:
    code, _ = run("delete", str(EXAMPLE), "--endpoint", fake.address)
  err = capsys.readouterr().err
  assert code == 2
  assert "cannot delete queued resource projects/my-trellis-project/locations/us-central2-b/" \
         "queuedResources/resnet50-v4-32: not found" in err
  assert "Check project and zone" in err


def test_create_status_logs_delete(tmp_path):
  raw = yaml.safe_load(EXAMPLE.read_text())
  job = write_spec(tmp_path, code={**raw["code"], "launch": "every_host"})  # 4 hosts report
  bucket = tmp_path / "bucket"
  common = ["--store-root", str(bucket)]
  with fake_tpu_server.FakeTpuServer(operation_polls=0, creating_polls=0,
                                     queued_polls=0) as fake:
    endpoint = ["--endpoint", fake.address]
    before = time.time()
    code, out = run("create", job, *endpoint, *common)
    assert code == 0 and "slice resnet50-v4-32 is up" in out
    metadata = next(iter(fake.nodes.values())).metadata
    run_id = metadata["trellis-run-id"]
    # `create` alone records the job's start, and the hosts' script stops the job 12 h later.
    started = int(metadata["trellis-started-at"])
    assert before - 1 <= started <= time.time()
    assert f"\nDEADLINE={started + 12 * 3600} " in metadata["startup-script"]
    assert "timeout --kill-after=60" in metadata["startup-script"]
    # What two of the four hosts' startup scripts would have written by now.
    ckpt = bucket / "my-trellis-checkpoints" / "resnet50-v4-32" / "tpuctl"
    (ckpt / "status").mkdir(parents=True)
    (ckpt / "logs").mkdir()
    for worker, state in ((0, "RUNNING"), (1, "SUCCEEDED")):
      (ckpt / "status" / f"worker-{worker}.json").write_text(json.dumps(
          {"state": state, "worker": worker, "run_id": run_id, "attempt": 1,
           "exit_code": 0 if state == "SUCCEEDED" else None, "time": "2026-01-01T00:00:00Z"}))
      (ckpt / "logs" / f"worker-{worker}.log").write_text(f"epoch 1/90 on host {worker}\n")

    code, out = run("status", job, *endpoint, *common)
    assert code == 0
    assert "queued resource: ACTIVE" in out and "node: READY" in out
    assert "job: RUNNING: 1/4 hosts succeeded, 1 running, 0 failed" in out
    assert "host 1: SUCCEEDED (attempt 1, exit 0, 2026-01-01T00:00:00Z)" in out
    assert re.search(r"budget: 12 h from \S+Z, ends \S+Z \((12\.00|11\.99) h left\)", out)
    assert ("TPU nodes in my-trellis-project/us-central2-b: 1\n"
            "  resnet50-v4-32: v4-32 READY, tpuctl job resnet50-v4-32") in out

    code, out = run("logs", job, "--worker", "1", *endpoint, *common)
    assert code == 0 and "epoch 1/90 on host 1" in out and "host 0" not in out

    code, out = run("delete", job, *endpoint, *common)
    assert code == 0 and fake.nodes == {} and fake.queued == {}
    code, out = run("status", job, *endpoint, *common)
    assert "queued resource: none" in out and "node: none" in out
    assert "TPU nodes in my-trellis-project/us-central2-b: 0" in out


def test_create_on_a_slice_whose_budget_is_spent_says_so(tmp_path):
  with fake_tpu_server.FakeTpuServer(operation_polls=0, creating_polls=0,
                                     queued_polls=0) as fake:
    assert run("create", str(EXAMPLE), "--endpoint", fake.address)[0] == 0
    for node in fake.nodes.values():  # as if it had been created 13 hours ago
      node.metadata["trellis-started-at"] = str(int(time.time()) - 13 * 3600)
    code, out = run("create", str(EXAMPLE), "--endpoint", fake.address)
    assert code == 1
    assert "re-attaching to run" in out and "0.00 h left" in out
    assert "the budget of job resnet50-v4-32 ended at" in out
    assert "its hosts stop the job and give the slice back" in out
    assert fake.rpcs().count("CreateQueuedResource") == 1


def test_an_endpoint_that_does_not_answer_is_a_clear_error(capsys):
  code, _ = run("delete", str(EXAMPLE), "--endpoint", "127.0.0.1:1")  # nothing listens there
  assert code == 2
  assert "the Cloud TPU API did not answer" in capsys.readouterr().err


def test_run_end_to_end_with_the_startup_script_running_on_every_host(tmp_path):
  """`tpuctl run` → the fake API makes the slice READY → each of its 4 hosts runs the node's
  actual startup script (worker 0 trains, the others serve) → markers in the bucket → done →
  the slice is deleted."""
  bucket = tmp_path / "bucket"
  processes = []

  def boot(node):
    for worker in range(len(node.network_endpoints)):
      host = fake_host.FakeHost(tmp_path / f"host-{worker}", worker=worker, buckets=bucket,
                                bazel_seconds=0.5)
      processes.append(host.start(node.metadata["startup-script"]))

  try:
    with fake_tpu_server.FakeTpuServer(operation_polls=0, creating_polls=0, queued_polls=0,
                                       on_node_ready=boot) as fake:
      code, out = run("run", str(EXAMPLE), "--endpoint", fake.address,
                      "--store-root", str(bucket), "--poll-seconds", "0.2")
      assert fake.queued == {} and fake.nodes == {}
      assert fake.rpcs().count("CreateQueuedResource") == 1
  finally:
    for process in processes:
      process.wait(timeout=60)
  assert code == 0, out
  assert len(processes) == 4 and all(p.returncode == 0 for p in processes)
  assert "job resnet50-v4-32: RUNNING: 0/1 hosts succeeded, 1 running" in out
  assert "job resnet50-v4-32 succeeded (worker 0 of 4 hosts) after 1 attempt(s)" in out
  assert "state        SUCCEEDED\n" in out and "slices used  1\n" in out  # the summary
  log = bucket / "my-trellis-checkpoints/resnet50-v4-32/tpuctl/logs/worker-0.log"
  assert "--config.distribution.tpu.name=resnet50-v4-32" in log.read_text()
  # Worker 0 published the trained model under export_root before reporting SUCCEEDED.
  assert (bucket / "my-trellis-models/vision/m/1/saved_model.pb").is_file()
  # ...and then gave the slice back itself (what keeps a slice from `create` alone bounded).
  assert ("gcloud compute tpus queued-resources delete resnet50-v4-32"
          in (tmp_path / "host-0" / "commands.log").read_text())
  assert "exports      gs://my-trellis-models/vision\n" in out
