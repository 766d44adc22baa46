"""A real domain trainer (the time-series trainer's train_and_evaluate, DLinear on the shop world's
daily demand) as a 2-process job: under MultiWorkerMirroredStrategy (TF_CONFIG from //common/distribute:launch) and
under Horovod (`horovodrun -np 2 --gloo`, the launcher's `--backend horovod`).

Both pass. (Under MultiWorkerMirrored the trainer gives Keras step counts: sequences/timeseries/train.py.)
Both processes run the whole trainer: config, data, model under the strategy, common/training's
fit (which adds Horovod's optimizer wrapper and broadcast) and evaluation. The vision trainer's
two-process run is vision/multi_worker_test.py. The tiny job in common/distribute shows the
engines compute the same thing; this shows a domain trainer runs under them unchanged.
"""

import io
import json
import os
import pathlib
import shutil
import sys

import pytest

import common
from common.distribute import launch
from common.shopworld import world

REPO_ROOT = pathlib.Path(common.__file__).resolve().parent.parent
PY = sys.executable

# Each process: the time-series default config with DLinear, one epoch on 3 years of demand.
WORKER = """
import sys
from sequences.timeseries import train
from sequences.timeseries.configs import default
cfg = default.get_config()
cfg.model, cfg.data.source, cfg.data.path = "DLinear", "demand", sys.argv[1]
cfg.data.split = "fraction"  # 70/10/20 % by time: the ETT month split needs more rows
cfg.distribution.kind = sys.argv[3]
cfg.lookback, cfg.horizon, cfg.batch_size, cfg.epochs = 48, 24, 64, 1
result = train.train_and_evaluate(cfg, sys.argv[2])
from common.distribute import horovod_backend
replicas = result.model.distribute_strategy.num_replicas_in_sync * horovod_backend.size()
print("TRAINED", result.epochs, "epoch(s) with", replicas, "replicas", flush=True)
"""


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory):
  path = tmp_path_factory.mktemp("world")
  world.generate(seed=0, size="tiny").write(str(path))
  return str(path)


def run_two_processes(tmp_path, world_dir, kind, backend):
  workdir = tmp_path / kind
  out = io.StringIO()
  code = launch.run([PY, "-c", WORKER, world_dir, str(workdir), kind], 2, backend=backend,
                    cwd=str(REPO_ROOT), out=out, grace_seconds=5)
  log = out.getvalue()
  assert code == 0, log[-5000:]
  return workdir, log


def test_timeseries_trainer_under_multi_worker_mirrored_with_two_processes(tmp_path, world_dir):
  workdir, log = run_two_processes(tmp_path, world_dir, "multi_worker", "tf")
  assert log.count("TRAINED 1 epoch(s) with 2 replicas") == 2  # both workers, one cluster
  summary = json.loads((workdir / "result.json").read_text())
  assert summary["epochs"] == 1 and "test" in summary["metrics"]


@pytest.mark.skipif(not shutil.which("horovodrun", path=os.path.dirname(PY)),
                    reason="Horovod is built by `make horovod`; `make test` builds it first")
def test_timeseries_trainer_under_horovodrun_with_two_processes(tmp_path, world_dir, monkeypatch):
  monkeypatch.setenv("HOME", str(tmp_path))  # horovodrun writes ~/.horovod
  workdir, log = run_two_processes(tmp_path, world_dir, "horovod", "horovod")
  assert log.count("TRAINED 1 epoch(s) with 2 replicas") == 2  # horovodrun's ranks 0 and 1
  summary = json.loads((workdir / "result.json").read_text())
  assert summary["epochs"] == 1 and "test" in summary["metrics"]
