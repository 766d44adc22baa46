"""Evaluates a trained vision run beside the majority-class baseline, per class.

    bazel run //vision:evaluate -- --workdir=/tmp/trellis/vision [--split=test]

prints accuracy and macro precision/recall/F1 for the model and for the baseline that
always answers the training set's most frequent class, a per-class table (precision,
recall, F1, support: the slices an average hides) and the confusion matrix, and
writes them to `<workdir>/eval_<split>/`: `metrics.json`, `confusion.txt` and
`confusion.png` (rows = true class, columns = predicted, row-normalised colours with
counts in the cells). The workdir may be local or e.g. gs:// (tf.io.gfile).

Every example of the split is scored exactly once: static-shape batches, the last one padded
with weight-0 rows that are dropped before scoring (`train.predict_labels`).
"""

import io
import json
import os

import numpy as np
import tensorflow as tf
from absl import app, flags

from common.data import data_dir as data_dir_lib
from common.metrics import slices
from vision import data as data_lib
from vision import train


def format_report(metrics: dict, class_names) -> str:
  overall = {"model": metrics["model"], "majority baseline": metrics["baseline"]}
  per_class = metrics["per_class"]
  rows = {name: {"precision": per_class["precision"][i], "recall": per_class["recall"][i],
                 "f1": per_class["f1"][i], "support": per_class["support"][i]}
          for i, name in enumerate(class_names)}
  return "\n\n".join([
      slices.format_table(overall, title=f"{metrics['examples']} examples", key_header=""),
      slices.format_table(rows, title="per class", key_header="class"),
      "confusion matrix (rows: true, columns: predicted)\n"
      + confusion_text(np.asarray(metrics["confusion_matrix"]), class_names)])


def confusion_text(matrix: np.ndarray, class_names) -> str:
  names = [str(n)[:12] for n in class_names]
  width = max(max(len(n) for n in names), len(str(int(matrix.max(initial=0)))))
  lines = [" " * width + "  " + " ".join(n.rjust(width) for n in names)]
  for name, row in zip(names, matrix, strict=True):
    lines.append(name.rjust(width) + "  " + " ".join(str(int(v)).rjust(width) for v in row))
  return "\n".join(lines)


def plot_confusion(matrix: np.ndarray, class_names, path: str, title: str) -> None:
  """Draws the row-normalised confusion matrix as a PNG at `path` (local or e.g. gs://)."""
  import matplotlib  # third-party, here: only the report draws, and pyplot is slow to import

  matplotlib.use("Agg")  # no display on servers
  import matplotlib.pyplot as plt

  n = len(class_names)
  rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
  fig, ax = plt.subplots(figsize=(1.0 + 0.55 * n, 0.8 + 0.5 * n))
  ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
  ax.set_xticks(range(n), class_names, rotation=45, ha="right")
  ax.set_yticks(range(n), class_names)
  ax.set_xlabel("predicted")
  ax.set_ylabel("true")
  ax.set_title(title)
  if n <= 30:  # counts stay readable up to about 30 classes
    for i in range(n):
      for j in range(n):
        ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=7,
                color="white" if rates[i, j] > 0.5 else "black")
  fig.tight_layout()
  png = io.BytesIO()
  fig.savefig(png, format="png", dpi=120)
  plt.close(fig)
  with tf.io.gfile.GFile(path, "wb") as f:
    f.write(png.getvalue())


def evaluate(workdir: str, split: str = "test", data_dir: str | None = None) -> dict:
  """Evaluates the run in `workdir` on `split`; writes and returns the metrics."""
  if split not in ("train", "validation", "test"):
    raise ValueError(f"split={split!r}: use train, validation or test")
  cfg, info, model = train.load_run(workdir)
  data = data_lib.load(cfg.data, data_dir)
  if data.fingerprint != info["data_fingerprint"]:
    print(f"warning: the data ({data.fingerprint}) differs from what the run trained on "
          f"({info['data_fingerprint']})")
  labels, predicted, _ = train.predict_labels(model, getattr(data, split), cfg,
                                              info["image_size"])
  metrics = train.compute_metrics(labels, predicted, data.num_classes, data.majority_class)
  metrics["split"] = split
  metrics["majority_class"] = data.class_names[data.majority_class]
  out = os.path.join(workdir, f"eval_{split}")
  tf.io.gfile.makedirs(out)
  report = format_report(metrics, data.class_names)
  with tf.io.gfile.GFile(os.path.join(out, "metrics.json"), "w") as f:
    json.dump(metrics, f, indent=2)
  with tf.io.gfile.GFile(os.path.join(out, "confusion.txt"), "w") as f:
    f.write(report + "\n")
  plot_confusion(np.asarray(metrics["confusion_matrix"]), data.class_names,
                 os.path.join(out, "confusion.png"),
                 f"{cfg.model} on {cfg.data.source} ({split}): "
                 f"accuracy {metrics['model']['accuracy']:.3f}")
  print(report)
  print(f"wrote {out}/metrics.json, confusion.txt, confusion.png")
  return metrics


def main(argv):
  del argv
  evaluate(flags.FLAGS.workdir, flags.FLAGS.split, flags.FLAGS.data_dir)


if __name__ == "__main__":
  # Flags are defined only when run as a program, as in export.py: a process that imports this
  # library (a test, a tool) defines its own.
  flags.DEFINE_string("workdir", None, "a finished //vision:train run directory", required=True)
  flags.DEFINE_enum("split", "test", ["train", "validation", "test"], "split to evaluate")
  data_dir_lib.define_flag()
  app.run(main)
