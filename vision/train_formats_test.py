"""`bazel run //vision:train` from the usual formats a user holds: ONE idx images/labels pair and
an image folder (class per folder). Tiny ResNet-20 runs of one epoch: the point is that each format
reaches a trained, evaluated run, with its classes and sizes recorded."""

import json

import numpy as np

from common.data import idx
from common.testing import flags as flags_testing
from common.training import result as result_lib
from vision import main
from vision.data import png


def _images(n):
  """Three classes a network tells apart at once: dark, mid-grey and bright 12x12 images."""
  rng = np.random.default_rng(0)
  labels = np.arange(n) % 3
  images = np.clip(labels[:, None, None] * 100 + rng.integers(0, 40, (n, 12, 12)), 0, 255)
  return images.astype(np.uint8), labels.astype(np.uint8)


def _train(workdir, *overrides):
  argv = ["train", f"--workdir={workdir}", "--config=vision/configs/default.py",
          "--config.resnet.image_size=16", "--config.epochs=1", "--config.batch_size=16",
          "--config.distribution.jit_compile=False", *(f"--config.{o}" for o in overrides)]
  flags_testing.run_main(main.main, argv)
  info = json.loads((workdir / "model_info.json").read_text())
  return info["class_names"], result_lib.read_summary(str(workdir))["metrics"]["test"]


def test_trains_from_a_single_idx_pair(tmp_path):
  images, labels = _images(90)
  idx.write_idx(tmp_path / "images-idx3-ubyte.gz", images)
  idx.write_idx(tmp_path / "labels-idx1-ubyte.gz", labels)
  class_names, test = _train(tmp_path / "run", "data.source=idx",
                             f"data.images={tmp_path / 'images-idx3-ubyte.gz'}",
                             f"data.labels={tmp_path / 'labels-idx1-ubyte.gz'}")
  assert class_names == ["0", "1", "2"]
  assert test["examples"] > 0
  assert 0.0 <= test["model"]["accuracy"] <= 1.0


def test_trains_from_an_image_folder(tmp_path):
  images, labels = _images(60)
  for i, (image, label) in enumerate(zip(images, labels, strict=True)):
    folder = tmp_path / "photos" / ["dark", "grey", "bright"][label]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{i}.png").write_bytes(png.encode(image))
  class_names, test = _train(tmp_path / "run", "data.source=image_folder",
                             f"data.path={tmp_path / 'photos'}", "data.split_fractions=(0.6,0.2,0.2)")
  assert class_names == ["bright", "dark", "grey"]
  assert test["examples"] > 0
  assert 0.0 <= test["model"]["accuracy"] <= 1.0
