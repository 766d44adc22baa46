"""The same model and global batch trained under every engine reaches the same place.

tiny_job trains a small MLP for 24 SGD+momentum steps with global batch 32, sharding the data by
batch so every engine sees the same rows at every step. Data-parallel training then differs from
one device only by float rounding in the gradient all-reduce, so we require:

* final loss within 1e-4 (relative) of the one-device run, and weights within 1e-4;
* replicas holding equal weights (1e-6): both copies inside a mirrored process, and the weights
  of the two processes of a multi-worker or Horovod job.
"""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import common

REPO_ROOT = pathlib.Path(common.__file__).resolve().parent.parent
LOSS_RTOL, WEIGHT_ATOL, REPLICA_ATOL = 1e-4, 1e-4, 1e-6
HAVE_HOROVOD = importlib.util.find_spec("horovod") is not None


def run(workdir, kind, *extra, launcher=None):
  job = [sys.executable, "-m", "common.distribute.tiny_job", f"--workdir={workdir}",
         f"--kind={kind}", *extra]
  if launcher is not None:
    job = [sys.executable, "-m", "common.distribute.launch", "--workers", "2", *launcher, "--", *job]
  env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), *sys.path]))
  done = subprocess.run(job, env=env, capture_output=True, text=True, timeout=400, cwd=REPO_ROOT)
  assert done.returncode == 0, f"{kind} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
  return [json.loads(p.read_text()) for p in sorted(pathlib.Path(workdir).glob("result-*.json"))]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
  root = tmp_path_factory.mktemp("parity")
  out = {
      "default": run(root / "default", "default"),
      "mirrored": run(root / "mirrored", "mirrored", "--num_cpu_devices=2"),
      "multi_worker": run(root / "multi_worker", "multi_worker", launcher=[]),
  }
  if HAVE_HOROVOD:
    out["horovod"] = run(root / "horovod", "horovod", launcher=["--backend", "horovod"])
  return out


ENGINES = ["mirrored", "multi_worker",
           pytest.param("horovod", marks=pytest.mark.skipif(
               not HAVE_HOROVOD, reason="Horovod is not built; run `make horovod`"))]


@pytest.mark.parametrize("engine", ENGINES)
def test_engine_matches_one_device(results, engine):
  (reference,) = results["default"]
  for worker in results[engine]:
    assert worker["replicas"] == 2
    assert worker["steps_run"] == reference["steps_run"]
    np.testing.assert_allclose(worker["final_loss"], reference["final_loss"], rtol=LOSS_RTOL)
    np.testing.assert_allclose(worker["weights"][0], reference["weights"][0], atol=WEIGHT_ATOL)
  # It learned something: the shared final loss is far below the first epoch's.
  assert reference["final_loss"] < 0.5 * reference["first_epoch_loss"]


def test_mirrored_replicas_hold_equal_weights(results):
  (worker,) = results["mirrored"]
  for copies in worker["replica_weights"]:
    assert len(copies) == 2
    np.testing.assert_allclose(copies[0], copies[1], atol=REPLICA_ATOL)


@pytest.mark.parametrize("engine", ENGINES[1:])
def test_processes_hold_equal_weights(results, engine):
  workers = results[engine]
  assert [w["rank"] for w in workers] == [0, 1]
  np.testing.assert_allclose(workers[0]["weights"][0], workers[1]["weights"][0], atol=REPLICA_ATOL)
