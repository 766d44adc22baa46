"""Untrained ResNet exports for the serving benchmark: vision's real export, fresh weights.

    bazel run //vision:bench_exports -- --export_root=/tmp/trellis/bench_exports
    bazel run //serving:bench -- --model=resnet20 --export_root=/tmp/trellis/bench_exports

The serving benchmark measures the model server around a model's compute. A trained network
computes exactly what an untrained one of the same shape does, so these exports skip training:
each is `vision.export.ImageClassifier` (encoded bytes in; decode, resize and the ResNet in the
graph) around freshly initialised weights, published with `vision.export.publish_classifier` as
`//vision:export` publishes a trained run:

* `resnet20`: the vision demo's model (vision/configs/default.py), ResNet-20 on 32x32, 10 classes;
* `resnet50`: ImageNet ResNet-50 v1.5 (vision/configs/resnet50_tpu_pod.py) at 224x224 with the
  eval centre crop 0.875, 1000 classes.

Serving never imports vision (DESIGN.md): the benchmark reads these from `--export_root` like any
export. Each run publishes a new version of each model (the server serves the newest).
"""

import dataclasses

import tensorflow as tf
from absl import app, flags

from vision import export, models


@dataclasses.dataclass(frozen=True)
class BenchExport:
  """One untrained export: its model name and the network behind it."""

  name: str
  architecture: str  # a `vision.models` name
  image_size: int
  num_classes: int
  crop_fraction: float


BENCH_EXPORTS = {
    "resnet20": BenchExport("resnet20", "ResNet20", 32, 10, 1.0),
    "resnet50": BenchExport("resnet50", "ResNet50", 224, 1000, 0.875),
}


def publish(spec: BenchExport, export_root: str) -> str:
  """Publishes `spec` with fresh weights under `export_root/<name>/<next version>/`; its path."""
  tf.keras.backend.clear_session()  # one process may build both networks
  model = models.create(spec.architecture, models.ModelConfig(
      num_classes=spec.num_classes, image_size=spec.image_size))
  module = export.ImageClassifier(model, [f"class_{i}" for i in range(spec.num_classes)],
                                  crop_fraction=spec.crop_fraction)
  return export.publish_classifier(module, export_root, spec.name, spec.architecture)


def chosen(names: list[str]) -> list[BenchExport]:
  """The exports `--models` names, checked before any is built.

  Raises:
    ValueError: a name is not one of BENCH_EXPORTS; the message lists them.
  """
  unknown = [n for n in names if n not in BENCH_EXPORTS]
  if unknown or not names:
    raise ValueError(f"--models has {', '.join(map(repr, unknown)) or 'nothing'}; choose from "
                     f"{', '.join(BENCH_EXPORTS)}")
  return [BENCH_EXPORTS[n] for n in names]


def main(argv):
  del argv
  try:
    specs = chosen(flags.FLAGS.models)
  except ValueError as e:
    raise app.UsageError(str(e)) from None
  for spec in specs:
    print(f"published {publish(spec, flags.FLAGS.export_root)}", flush=True)


if __name__ == "__main__":
  flags.DEFINE_string("export_root", None, "where to publish (local or gs://)", required=True)
  flags.DEFINE_list("models", list(BENCH_EXPORTS), "which of resnet20, resnet50 to publish")
  app.run(main)
