"""A real domain trainer (vision's train_and_evaluate, ResNet-20 on shop-world item images) as a
2-process job: under MultiWorkerMirroredStrategy (TF_CONFIG from //common/distribute:launch) and
under Horovod (`horovodrun -np 2 --gloo`, the launcher's `--backend horovod`).

Both processes run the whole trainer: config, data, model under the strategy, common/training's
fit (which adds Horovod's optimizer wrapper and broadcast), evaluation and the run summary, which
only the chief writes. The tiny job in common/distribute shows the engines compute the same
thing; this shows a domain trainer runs under them unchanged.
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

# Each process: the vision default config (ResNet-20), cut to 3 steps of 16 images at 32x32.
WORKER = """
import sys
from vision import train
from vision.configs import default
cfg = default.get_config()
cfg.data.world_dir, cfg.distribution.kind = sys.argv[1], sys.argv[3]
cfg.batch_size, cfg.num_epochs, cfg.steps_per_epoch = 16, 1, 3
# The tiny world's 31 validation images in 2 batches: a distributed dataset needs a step count
# (with eval_steps=0 Keras refuses one under MultiWorkerMirrored; vision/train.py passes None).
cfg.eval_steps = 2
cfg.distribution.jit_compile = False
summary = train.train_and_evaluate(cfg, sys.argv[2])
print("TRAINED", summary["final_train_accuracy"], flush=True)
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


def test_vision_trainer_under_multi_worker_mirrored_with_two_processes(tmp_path, world_dir):
  workdir, log = run_two_processes(tmp_path, world_dir, "multi_worker", "tf")
  assert log.count("TRAINED") == 2  # both workers finished the trainer
  assert "distribution: kind=multi_worker replicas=2" in log
  summary = json.loads((workdir / "summary.json").read_text())
  assert summary["steps_per_epoch"] == 3 and summary["model"] == "ResNet20"


@pytest.mark.skipif(not shutil.which("horovodrun", path=os.path.dirname(PY)),
                    reason="Horovod is built by `make horovod`; `make test` builds it first")
def test_vision_trainer_under_horovodrun_with_two_processes(tmp_path, world_dir, monkeypatch):
  monkeypatch.setenv("HOME", str(tmp_path))  # horovodrun writes ~/.horovod
  workdir, log = run_two_processes(tmp_path, world_dir, "horovod", "horovod")
  assert log.count("TRAINED") == 2  # horovodrun's ranks 0 and 1
  assert "distribution: kind=horovod replicas=2" in log
  summary = json.loads((workdir / "summary.json").read_text())
  assert summary["steps_per_epoch"] == 3 and summary["model"] == "ResNet20"
