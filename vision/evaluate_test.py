"""Evaluation metrics beside the majority baseline, worked out by hand, and the confusion outputs."""

import numpy as np
import pytest
import tensorflow as tf

from common import config as config_lib
from vision import evaluate, train


def test_metrics_by_hand_with_the_majority_baseline():
  labels = np.array([0, 0, 0, 1, 1, 2])
  predicted = np.array([0, 0, 1, 1, 1, 0])
  m = train.compute_metrics(labels, predicted, num_classes=3, majority_class=0)
  # correct: 0,0,1,1 → 4/6. Baseline always says 0 → 3/6.
  assert m["model"]["accuracy"] == pytest.approx(4 / 6)
  assert m["baseline"]["accuracy"] == pytest.approx(0.5)
  assert m["examples"] == 6
  # class 0: precision 2/3 (predicted 0 three times, two right), recall 2/3.
  # class 1: precision 2/3, recall 1. class 2: never predicted → 0, 0.
  assert m["per_class"]["precision"] == pytest.approx([2 / 3, 2 / 3, 0])
  assert m["per_class"]["recall"] == pytest.approx([2 / 3, 1, 0])
  assert m["confusion_matrix"] == [[2, 1, 0], [0, 2, 0], [1, 0, 0]]


def test_report_and_png(tmp_path):
  labels = np.array([0, 1, 1, 2])
  m = train.compute_metrics(labels, np.array([0, 1, 2, 2]), 3, majority_class=1)
  report = evaluate.format_report(m, ["cat", "dog", "bird"])
  assert "majority baseline" in report and "per class" in report
  assert report.splitlines()[-1].split() == ["bird", "0", "0", "1"]
  path = tmp_path / "confusion.png"
  evaluate.plot_confusion(np.asarray(m["confusion_matrix"]), ["cat", "dog", "bird"], str(path), "t")
  assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_split_is_explained():
  with pytest.raises(ValueError, match="use train, validation or test"):
    evaluate.evaluate("/nonexistent", split="dev")


def test_confusion_png_goes_to_a_non_local_workdir():
  # ram:// stands in for gs://: matplotlib writes to memory, tf.io.gfile writes the bytes.
  evaluate.plot_confusion(np.eye(2, dtype=int), ["a", "b"], "ram://evaluate_test/confusion.png",
                          "t")
  with tf.io.gfile.GFile("ram://evaluate_test/confusion.png", "rb") as f:
    assert f.read()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("overrides, steps", [([], 13), (["batch_size=2048"], 25)])
def test_pod_config_evaluates_every_imagenet_validation_image_once(overrides, steps):
  # 50,000 images: 12 x 4,096 = 49,152 would skip 848; 13 padded batches count all of them.
  cfg = config_lib.resolve(config_lib.load("vision/configs/resnet50_tpu_pod.py", overrides),
                           print_fn=lambda _: None)
  assert cfg.eval_steps == steps
  assert (cfg.eval_steps - 1) * cfg.batch_size < 50_000 <= cfg.eval_steps * cfg.batch_size
