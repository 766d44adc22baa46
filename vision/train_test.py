"""Training: the learning-rate schedule by hand, and a short real run on the shop world that must
beat the majority-class baseline by a wide margin."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from common import config as config_lib
from common.shopworld import world as shopworld
from common.training import result as result_lib
from vision import data as data_lib
from vision import input_pipeline, train


def _config(overrides=()):
  return config_lib.resolve(config_lib.load("vision/configs/default.py", list(overrides)),
                            print_fn=lambda _: None)


def test_learning_rate_is_scaled_warmed_up_then_cosine_decayed():
  cfg = _config(["batch_size=512", "learning_rate=0.1", "optimizer.warmup_epochs=2",
                 "epochs=10"])
  schedule = train.learning_rate_schedule(cfg, steps_per_epoch=100)
  # peak = 0.1 * 512 / 256 = 0.2, reached after 200 warm-up steps; half-way through the
  # remaining 800 steps the cosine is at half the peak; the last step is ~0.
  assert float(schedule(100)) == pytest.approx(0.1)
  assert float(schedule(200)) == pytest.approx(0.2)
  assert float(schedule(600)) == pytest.approx(0.1, rel=1e-4)
  assert float(schedule(1000)) == pytest.approx(0.0, abs=1e-6)


def test_pad_and_crop_augmentation_keeps_shapes_and_eval_is_deterministic():
  cfg = _config()
  png = tf.io.encode_png(tf.cast(tf.random.uniform([20, 20, 3], 0, 255), tf.uint8))
  ds = tf.data.Dataset.from_tensors((png, tf.constant(3, tf.int64))).repeat(4)
  images, labels = next(iter(input_pipeline.create_split(
      ds, cfg.data, image_size=16, batch_size=4, training=True, num_classes=5)))
  assert images.shape == (4, 16, 16, 3) and labels.shape == (4, 5)
  assert float(tf.reduce_sum(labels[:, 3])) == 4.0
  evals = [next(iter(input_pipeline.create_split(ds, cfg.data, image_size=16, batch_size=4,
                                                 training=False)))[0] for _ in range(2)]
  np.testing.assert_array_equal(evals[0].numpy(), evals[1].numpy())


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  world_dir = tmp_path_factory.mktemp("world")
  shopworld.generate(seed=0, size="tiny").write(world_dir)
  workdir = str(tmp_path_factory.mktemp("run"))
  cfg = _config([f"data.path={world_dir}", "data.split_fractions=(0.7,0.05,0.25)",
                 "epochs=12", "batch_size=32", "learning_rate=0.4"])
  return workdir, train.train_and_evaluate(cfg, workdir)


def test_short_training_on_the_shop_world_beats_the_majority_baseline_widely(trained):
  _, result = trained
  test = result.metrics["test"]
  # 10 categories: the majority baseline is ~10-20%; a learned model should be far above it.
  assert test["examples"] >= 50
  assert test["model"]["accuracy"] >= test["baseline"]["accuracy"] + 0.3, result.summary()
  assert result.baseline.class_name == test["majority_class"]
  assert result.epochs == 12 and result.train_seconds > 0
  assert result.data_fingerprint.startswith("shopworld:")
  assert result.metrics["validation"]["examples"] == result.data.sizes["validation"]


def test_run_directory_holds_what_evaluate_and_export_need(trained):
  workdir, result = trained
  for name in ("config.json", "model_info.json", result_lib.RESULT_FILE, "train_log.csv",
               "final/weights.index"):
    assert os.path.exists(os.path.join(workdir, name)), name
  with open(os.path.join(workdir, "model_info.json")) as f:
    info = json.load(f)
  assert info["class_names"] == result.data.class_names and len(info["mean"]) == 3
  written = result_lib.read_summary(workdir)["metrics"]["test"]  # result.json, as export reads it
  for side in ("model", "baseline"):
    assert written[side] == pytest.approx(result.metrics["test"][side])
  assert written["confusion_matrix"] == result.metrics["test"]["confusion_matrix"]
  # The reloaded float32 model predicts what the trained one measured.
  cfg, info, model = train.load_run(workdir)
  data = data_lib.load(cfg.data)
  labels, predicted, _ = train.predict_labels(model, data.test, cfg, info["image_size"])
  assert float(np.mean(labels == predicted)) == pytest.approx(
      result.metrics["test"]["model"]["accuracy"])


def test_missing_run_is_explained(tmp_path):
  config_lib.save(_config(), tmp_path)
  with pytest.raises(FileNotFoundError, match="no finished training run"):
    train.load_run(str(tmp_path))
