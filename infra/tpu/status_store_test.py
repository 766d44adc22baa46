"""Tests for status markers: the stores and how markers combine into a job state."""

import json
import subprocess

import pytest

from infra.tpu import status_store

CKPT = "gs://bucket/jobs/a"


def marker(state, worker, run_id="run1"):
  return json.dumps({"state": state, "worker": worker, "run_id": run_id, "attempt": 1})


def test_local_store_maps_gs_urls_under_its_root_and_file_urls_to_paths(tmp_path):
  store = status_store.LocalDirStore(tmp_path / "mirror")
  store.write("gs://bucket/a/x.json", "1")
  assert (tmp_path / "mirror" / "bucket" / "a" / "x.json").read_text() == "1"
  store.write(f"file://{tmp_path}/local/y.json", "2")
  assert store.read(f"file://{tmp_path}/local/y.json") == "2"
  assert store.read("gs://bucket/a/missing.json") is None
  assert store.list("gs://bucket/a") == ["gs://bucket/a/x.json"]
  assert store.list("gs://bucket/none") == []
  with pytest.raises(status_store.StoreError, match="without a root; pass --store-root"):
    status_store.LocalDirStore().read("gs://bucket/a/x.json")


def test_job_state_combines_every_host(tmp_path):
  store = status_store.LocalDirStore(tmp_path)
  folder = status_store.status_dir(CKPT)
  assert status_store.read_job_status(store, CKPT, 4, "run1").state == "PENDING"
  for worker in range(3):
    store.write(f"{folder}/worker-{worker}.json", marker("SUCCEEDED", worker))
  store.write(f"{folder}/worker-3.json", marker("RUNNING", 3))
  status = status_store.read_job_status(store, CKPT, 4, "run1")
  assert status.state == "RUNNING"  # 3 of 4 done is not done
  assert status.summary(4) == "RUNNING: 3/4 hosts succeeded, 1 running, 0 failed"
  store.write(f"{folder}/worker-3.json", marker("SUCCEEDED", 3))
  assert status_store.read_job_status(store, CKPT, 4, "run1").state == "SUCCEEDED"
  store.write(f"{folder}/worker-2.json", marker("FAILED", 2))
  assert status_store.read_job_status(store, CKPT, 4, "run1").state == "FAILED"


def test_markers_of_other_runs_and_half_written_markers_are_ignored(tmp_path):
  store = status_store.LocalDirStore(tmp_path)
  folder = status_store.status_dir(CKPT)
  store.write(f"{folder}/worker-0.json", marker("FAILED", 0, run_id="old-run"))
  store.write(f"{folder}/worker-1.json", '{"state": "SUCC')
  assert status_store.read_job_status(store, CKPT, 2, "run1").state == "PENDING"
  assert status_store.read_job_status(store, CKPT, 2).state == "FAILED"  # any run


def test_gcloud_store_says_how_to_install_the_cli_when_it_is_missing():
  store = status_store.GcloudStorageStore(runner=lambda *a, **k: None, which=lambda name: None)
  with pytest.raises(status_store.StoreError, match="install the Cloud SDK") as info:
    store.read(f"{CKPT}/x.json")  # found on first use, not when built
  assert "--store-root DIR" in str(info.value)


def test_the_real_gcloud_store_is_refused_inside_a_test_and_built_without_touching_the_cli():
  looked_up = []
  store = status_store.GcloudStorageStore(which=looked_up.append)
  assert looked_up == []  # building it needs no Cloud SDK
  for call in (lambda: store.read(f"{CKPT}/x.json"), lambda: store.list(CKPT),
               lambda: store.write(f"{CKPT}/x.json", "x")):
    with pytest.raises(RuntimeError, match="refusing to reach Cloud Storage"):
      call()
  assert looked_up == []
  assert isinstance(status_store.store_for(CKPT), status_store.GcloudStorageStore)


def test_gcloud_store_speaks_the_cli():
  calls = []

  def runner(argv, input=None, **kwargs):
    calls.append(argv)
    if argv[2] == "cat" and argv[3].endswith("missing.json"):
      return subprocess.CompletedProcess(argv, 1, "", "ERROR: The following URLs matched no objects or files")
    if argv[2] == "cat" and argv[3].endswith("denied.json"):
      return subprocess.CompletedProcess(argv, 1, "", "AccessDeniedException: 403")
    if argv[2] == "ls":
      return subprocess.CompletedProcess(argv, 0, f"{CKPT}/s/worker-1.json\n{CKPT}/s/worker-0.json\n", "")
    return subprocess.CompletedProcess(argv, 0, "text", "")

  store = status_store.GcloudStorageStore(runner=runner, which=lambda name: "/usr/bin/" + name)
  assert store.read(f"{CKPT}/x.json") == "text"
  assert store.read(f"{CKPT}/missing.json") is None
  with pytest.raises(status_store.StoreError, match=r"roles/storage\.objectViewer"):
    store.read(f"{CKPT}/denied.json")
  assert store.list(f"{CKPT}/s") == [f"{CKPT}/s/worker-0.json", f"{CKPT}/s/worker-1.json"]
  store.write(f"{CKPT}/y.json", "hello")
  assert calls[0] == ["gcloud", "storage", "cat", f"{CKPT}/x.json"]
  assert calls[-1] == ["gcloud", "storage", "cp", "-", f"{CKPT}/y.json"]
  only_gsutil = status_store.GcloudStorageStore(
      runner=runner, which=lambda name: "/usr/bin/gsutil" if name == "gsutil" else None)
  only_gsutil.read(f"{CKPT}/x.json")
  assert calls[-1] == ["gsutil", "cat", f"{CKPT}/x.json"]
