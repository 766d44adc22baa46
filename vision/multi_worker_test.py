"""The vision trainer as a 2-process MultiWorkerMirrored job (TF_CONFIG on localhost from
`common.distribute.launch`): both workers train, validate after the epoch and test, and the test
accuracy counts every test example of the shop world exactly once over the whole job.
"""

import io
import json
import pathlib
import sys

import pytest

import common
from common.distribute import launch
from common.shopworld import world

REPO_ROOT = pathlib.Path(common.__file__).resolve().parent.parent
PY = sys.executable

# Each process: the default config, tiny: a small ResNet, 16-pixel images, one short epoch.
# No XLA: TensorFlow has no XLA collectives on CPU. Batch 32 (16 per worker) and a validation split that is no multiple of it on either worker.
WORKER = """
import sys
from common import config as config_lib
from vision import train
cfg = config_lib.resolve(config_lib.load("vision/configs/default.py", [
    "data.path=" + sys.argv[1], "data.split_fractions=(0.7,0.1,0.2)", "epochs=1",
    "steps_per_epoch=2", "batch_size=32", "resnet.image_size=16",
    "distribution.kind=multi_worker",
    "distribution.jit_compile=False"]), print_fn=lambda _: None)
result = train.train_and_evaluate(cfg, sys.argv[2])
test = result.metrics["test"]
print("TESTED", test["examples"], "of", result.data.sizes["test"],
      "accuracy", test["model"]["accuracy"],
      "validated", len(result.extras["history"].get("val_accuracy", [])), flush=True)
"""


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory):
  path = tmp_path_factory.mktemp("world")
  world.generate(seed=0, size="tiny").write(str(path))
  return str(path)


def test_vision_trainer_under_multi_worker_mirrored_counts_every_test_example_once(
    tmp_path, world_dir):
  workdir = tmp_path / "run"
  out = io.StringIO()
  code = launch.run([PY, "-c", WORKER, world_dir, str(workdir)], 2, backend="tf",
                    cwd=str(REPO_ROOT), out=out, grace_seconds=5)
  log = out.getvalue()
  assert code == 0, log[-5000:]
  tested = [line.split("TESTED ", 1)[1] for line in log.splitlines() if "TESTED " in line]
  assert len(tested) == 2, log[-5000:]  # both workers finished
  test = json.loads((workdir / "result.json").read_text())["metrics"]["test"]  # the chief's
  test_size = test["examples"]
  assert test_size % 32  # the last batch is a partial one
  for line in tested:  # each worker reports the same whole-split figure
    count, _, total, _, accuracy, _, validated = line.split()
    assert int(count) == int(total) == test_size
    assert float(accuracy) == pytest.approx(test["model"]["accuracy"])
    assert int(validated) == 1  # validation ran on both workers after the epoch
