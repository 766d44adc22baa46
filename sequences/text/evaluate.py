"""Classification metrics beside the majority baseline, per class; and the `evaluate` binary.

Every figure is reported next to the majority-class baseline (DESIGN.md, idea 3) and per class
(idea 6: an average hides the topic the model confuses).

    # Evaluate a published export on the hash test split of its data, from raw strings:
    bazel run //sequences/text:evaluate -- --export_dir=/tmp/trellis/exports/text_cnn/1 \
        --config=sequences/text/configs/default.py
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence

import numpy as np
import tensorflow as tf
from absl import app, flags

from common import config as config_lib
from common.data import data_dir as data_dir_lib
from common.export import metadata, publish
from common.metrics import classification, slices
from sequences.text import data as data_lib
from sequences.text import input_pipeline


def majority_baseline(train_labels: np.ndarray, num_classes: int) -> int:
  """The most frequent training class (ties -> the lowest id): the non-learned baseline."""
  return int(np.argmax(np.bincount(np.asarray(train_labels), minlength=num_classes)))


def scores(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> dict[str, float]:
  """{"accuracy", "macro_f1"} of integer predictions."""
  return {"accuracy": classification.accuracy(labels, predicted),
          "macro_f1": classification.macro_f1(labels, predicted, num_classes)}


def evaluate(labels: np.ndarray, probabilities: np.ndarray, train_labels: np.ndarray,
             class_names: Sequence[str]) -> dict:
  """Model and majority-baseline metrics, overall and per class.

  Args:
    labels: true class ids `[n]`.
    probabilities: model class probabilities (or logits) `[n, num_classes]`.
    train_labels: training labels, for the majority baseline.
    class_names: names for the per-class table.

  Returns:
    {"model": {...}, "baseline": {...}, "per_class": {name: {"f1", "baseline_f1", "support"}},
     "confusion": [[...]]}.
  """
  num_classes = len(class_names)
  predicted = np.argmax(probabilities, axis=-1)
  majority = np.full_like(labels, majority_baseline(train_labels, num_classes))
  model_prf = classification.precision_recall_f1(labels, predicted, num_classes)
  base_prf = classification.precision_recall_f1(labels, majority, num_classes)
  per_class = {name: {"f1": float(model_prf["f1"][i]), "recall": float(model_prf["recall"][i]),
                      "baseline_f1": float(base_prf["f1"][i]),
                      "support": int(model_prf["support"][i])}
               for i, name in enumerate(class_names)}
  return {
      "model": scores(labels, predicted, num_classes),
      "baseline": scores(labels, majority, num_classes),
      "per_class": per_class,
      "confusion": classification.confusion_matrix(labels, predicted, num_classes).tolist(),
  }


def format_report(result: dict, title: str) -> str:
  """The overall line and the per-class table as text."""
  overall = {"overall": {**{f"model_{k}": v for k, v in result["model"].items()},
                         **{f"baseline_{k}": v for k, v in result["baseline"].items()}}}
  lines = [slices.format_table(overall, title=title, key_header="",
                               ratios=[("model_accuracy", "baseline_accuracy")])]
  lines.append(slices.format_table(result["per_class"], key_header="class",
                                   columns=["support", "recall", "f1", "baseline_f1"]))
  return "\n\n".join(lines)


def plot_confusion(confusion: Sequence[Sequence[int]], class_names: Sequence[str],
                   path: str | os.PathLike) -> str:
  """Draws the confusion matrix (rows = true class) as a PNG at `path` (may be gs://)."""
  # lazy: matplotlib costs a second to import and only this drawing needs it
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  matrix = np.asarray(confusion)
  fig, ax = plt.subplots(figsize=(1.2 * len(class_names) + 2, 1.2 * len(class_names) + 1.5))
  ax.imshow(matrix, cmap="Blues")
  ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
  ax.set_yticks(range(len(class_names)), class_names)
  ax.set_xlabel("predicted")
  ax.set_ylabel("true")
  for (i, j), value in np.ndenumerate(matrix):
    ax.text(j, i, str(value), ha="center", va="center",
            color="white" if value > matrix.max() / 2 else "black")
  fig.tight_layout()
  png = io.BytesIO()
  fig.savefig(png, format="png", dpi=100)
  plt.close(fig)
  path = os.fspath(path)
  with tf.io.gfile.GFile(path, "wb") as f:
    f.write(png.getvalue())
  return path


def evaluate_export(export_dir: str | os.PathLike, config, data_dir: str | None = None,
                    batch_size: int = 256) -> dict:
  """Evaluates a published export on its config's hash test split, from raw strings.

  This is the served model's number (tokenisation included), not the training process's.
  """
  meta = metadata.read(export_dir)
  class_names = meta.get("extra", {}).get("class_names")
  data = data_lib.load(config.data, data_dir)
  if class_names != data.class_names:
    raise ValueError(f"{export_dir} predicts classes {class_names} but {data.name} has "
                     f"{data.class_names}; evaluate it with the config it was trained with "
                     "(--config=<its config file> with the same --config.data.* overrides; the "
                     "run's <workdir>/config.json records them)")
  fractions = (config.data.train_fraction, config.data.validation_fraction,
               1.0 - config.data.train_fraction - config.data.validation_fraction)
  parts = input_pipeline.hash_split(data, fractions)
  test = parts.get("test", parts.get("validation"))
  classify = publish.load(export_dir).signatures["classify"]
  probabilities = np.concatenate([
      classify(text=tf.constant(test.texts[i:i + batch_size]))["probabilities"].numpy()
      for i in range(0, len(test.texts), batch_size)])
  return evaluate(test.labels, probabilities, parts["train"].labels, data.class_names)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}")
  config = config_lib.resolve(flags.FLAGS.config, print_fn=lambda *_: None)
  result = evaluate_export(flags.FLAGS.export_dir, config, flags.FLAGS.data_dir)
  print(format_report(result, f"{flags.FLAGS.export_dir} on the hash test split, from raw strings"))


if __name__ == "__main__":
  config_lib.DEFINE_config_file("config", default="sequences/text/configs/default.py")
  flags.DEFINE_string("export_dir", None, "a published version (or model) directory",
                      required=True)
  data_dir_lib.define_flag()
  app.run(main)
