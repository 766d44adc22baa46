"""Exports a trained vision run as a SavedModel that takes raw encoded image bytes.

    bazel run //vision:export -- --workdir=/tmp/trellis/vision --export_root=/tmp/trellis/exports

Both may be on any file system TensorFlow knows (`--workdir=gs://BUCKET/runs/r20
--export_root=gs://BUCKET/exports`); on object stores the version's metadata.json is written
last, which is how the model server knows it is complete (`common.export.publish`).

publishes `<export_root>/<model_name>/<version>/` (TF Serving layout, via
`common.export.publish`) with two signatures, both on a 1-D batch of encoded JPEG/PNG
bytes of any size (input name `image_bytes`):

* `classify` → `class_ids` int64 [B], `class_names` string [B], `probabilities` float32 [B, C]
  (also `serving_default`);
* `embed` → `embedding` float32 [B, D], the L2-normalised pooled features (D = 64 for the
  CIFAR family, 512/2048 for ResNet-18/34 and 50/101), for similarity search and recsys.

Decoding, resizing and normalisation are in the graph (`vision.preprocessing` + the
model's first layer), so a client sends file bytes and nothing else. Bad bytes fail
the request with an INVALID_ARGUMENT error naming the problem (see preprocessing.py).
The weights are loaded into a float32 copy of the network whatever precision trained
it: bfloat16 on a CPU server would only add rounding.
"""

import json
import os
import tempfile

import numpy as np
import tensorflow as tf
from absl import app, flags

from common.export import publish
from common.training import result as result_lib
from vision import models, preprocessing, train

IMAGE_BYTES = tf.TensorSpec([None], tf.string, name="image_bytes")


class ImageClassifier(tf.Module):
  """The exported module: a ResNet behind a bytes-in decoder."""

  def __init__(self, model: tf.keras.Model, class_names, *, crop_fraction: float = 1.0,
               max_pixels: int = preprocessing.DEFAULT_MAX_PIXELS):
    super().__init__(name="image_classifier")
    self.model = model
    self.encoder = models.embedding_model(model)
    self.image_size = int(model.input.shape[1])
    self.crop_fraction = float(crop_fraction)
    self.max_pixels = int(max_pixels)
    self.class_names = tf.constant(list(class_names), tf.string)

  def _images(self, image_bytes):
    return preprocessing.decode_batch(image_bytes, self.image_size, self.crop_fraction,
                                      self.max_pixels)

  @tf.function(input_signature=[IMAGE_BYTES])
  def classify(self, image_bytes):
    probabilities = tf.nn.softmax(self.model(self._images(image_bytes), training=False))
    class_ids = tf.argmax(probabilities, axis=-1)
    return {"class_ids": class_ids, "class_names": tf.gather(self.class_names, class_ids),
            "probabilities": probabilities}

  @tf.function(input_signature=[IMAGE_BYTES])
  def embed(self, image_bytes):
    features = tf.cast(self.encoder(self._images(image_bytes), training=False), tf.float32)
    return {"embedding": tf.math.l2_normalize(features, axis=-1)}


def _warmup_requests(image_size: int) -> dict:
  """One real PNG per signature, so a server traces decode + ResNet before taking traffic."""
  pixels = tf.fill([image_size, image_size, 3], tf.constant(128, tf.uint8))
  png = tf.io.encode_png(pixels).numpy()
  return {name: {"image_bytes": np.array([png], object)} for name in ("classify", "embed")}


def publish_classifier(module: ImageClassifier, export_root: str, model_name: str, architecture: str,
                       assets: dict | None = None, **metadata) -> str:
  """Publishes `module` (both signatures, labels.txt, warm-up requests) as the next version of
  `model_name`; `architecture` is the `vision.models` name ("ResNet20") recorded in the metadata,
  and `metadata` goes to `publish.export_saved_model` (config, metrics, ...)."""
  with tempfile.TemporaryDirectory() as tmp:
    labels = os.path.join(tmp, "labels.txt")
    with open(labels, "w") as f:  # local: a temporary file, copied into the export
      f.write("\n".join(n.decode() for n in module.class_names.numpy()) + "\n")
    path = publish.export_saved_model(
        module, {"classify": module.classify, "embed": module.embed},
        export_root=export_root, model_name=model_name, domain="vision",
        assets={"labels.txt": labels, **(assets or {})},
        default_signature="classify",
        warmup_requests=_warmup_requests(module.image_size),
        **metadata,
        extra_metadata={"model": architecture, "image_size": module.image_size,
                        "embedding_dim": int(module.encoder.output.shape[-1]),
                        "input": "1-D batch of encoded JPEG/PNG bytes, any size"})
  return str(path)


def export(workdir: str, export_root: str, model_name: str | None = None) -> str:
  """Publishes the run in `workdir` under `export_root`; returns the version directory."""
  cfg, info, model = train.load_run(workdir)
  module = ImageClassifier(model, info["class_names"], crop_fraction=cfg.data.eval_crop_fraction,
                           max_pixels=cfg.data.max_pixels)
  # The finished run's scores (result.json), when training got that far.
  test = (result_lib.read_summary(workdir)["metrics"]["test"]
          if tf.io.gfile.exists(os.path.join(workdir, result_lib.RESULT_FILE)) else None)
  with tempfile.TemporaryDirectory() as tmp:
    info_path = os.path.join(tmp, train.MODEL_INFO)
    with open(info_path, "w") as f:  # local: a temporary file, copied into the export
      json.dump(info, f, indent=2)
    path = publish_classifier(
        module, export_root, model_name or cfg.export.model_name, info["model"],
        assets={train.MODEL_INFO: info_path},
        config=cfg,
        metrics={"test_accuracy": test["model"]["accuracy"]} if test else None,
        baseline_metrics=({"test_accuracy": test["baseline"]["accuracy"],
                           "baseline": f"majority class ({test['majority_class']})"}
                          if test else None),
        data_fingerprint=info["data_fingerprint"])
  print(f"exported {path}")
  return path


def main(argv):
  del argv
  export(flags.FLAGS.workdir, flags.FLAGS.export_root, flags.FLAGS.model_name)


if __name__ == "__main__":
  # Flags are defined only when run as a program: the demo and tests import this module
  # into processes that define their own --workdir.
  flags.DEFINE_string("workdir", None, "a finished //vision:train run directory", required=True)
  flags.DEFINE_string("export_root", None, "the directory the model server watches", required=True)
  flags.DEFINE_string("model_name", None, "default: the config's export.model_name")
  app.run(main)
