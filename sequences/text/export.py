"""The raw-string SavedModel: `classify` and `embed`, published through `common.export`.

Signatures (inputs are what a client has: a batch of UTF-8 strings):

    classify(text: string[batch]) -> {"label": string[batch], "label_id": int64[batch],
                                      "probabilities": float32[batch, num_classes]}
    embed(text: string[batch])    -> {"embedding": float32[batch, dim]}   # L2-normalised
    serving_default = classify

Tokenisation (tensorflow-text) happens inside the graph, so the export needs `import
tensorflow_text` before loading; `custom_ops=["tensorflow_text"]` records that in
`assets.extra/metadata.json`, and `common.export.publish.load` and the server honour it. The
vocabulary and labels.txt are assets. Bad inputs (empty, non-UTF-8, over `max_input_bytes`) fail
the request with INVALID_ARGUMENT and a message naming the problem (see tokenizer.check_texts).

    # Re-export a finished training run (train.py wrote config.json, vocab.txt, classes.txt,
    # metrics.json and final/weights into its workdir):
    bazel run //sequences/text:export -- --workdir=/tmp/trellis/text_cnn \
        --export_root=/tmp/trellis/exports
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
from collections.abc import Sequence

import numpy as np
import tensorflow as tf
from absl import app, flags

from common import config as config_lib
from common.export import publish
from sequences.text import models, train
from sequences.text import tokenizer as tokenizer_lib

TEXT_SPEC = tf.TensorSpec([None], tf.string, name="text")


class TextClassifierModule(tf.Module):
  """Tokenizer + classifier + class names, with the two serving functions.

  The tokenizer is whatever turns raw strings into the model's input: the WordPiece `Tokenizer`
  (neural models), `ngrams.NgramVectorizer` (classic baselines) or `ensemble.RawText` (an
  `Ensemble`, whose members hold their own).
  """

  def __init__(self, tokenizer: tf.keras.layers.Layer, model: tf.keras.Model,
               class_names: Sequence[str]):
    super().__init__(name="text_classifier")
    self.tokenizer = tokenizer
    self.model = model
    self.class_names = tf.constant(list(class_names))

  @tf.function(input_signature=[TEXT_SPEC])
  def classify(self, text):
    logits = tf.cast(self.model(self.tokenizer(text), training=False), tf.float32)
    probabilities = tf.nn.softmax(logits, axis=-1)
    label_id = tf.argmax(probabilities, axis=-1)
    return {"label": tf.gather(self.class_names, label_id), "label_id": label_id,
            "probabilities": probabilities}

  @tf.function(input_signature=[TEXT_SPEC])
  def embed(self, text):
    features = tf.cast(self.model.features(self.tokenizer(text), training=False), tf.float32)
    return {"embedding": tf.math.l2_normalize(features, axis=-1)}


def export(tokenizer: tf.keras.layers.Layer, model: tf.keras.Model,
           class_names: Sequence[str], *, export_root: str | os.PathLike, model_name: str,
           config=None, metrics: dict | None = None, baseline_metrics: dict | None = None,
           data_fingerprint: str | None = None) -> pathlib.Path | str:
  """Publishes the next version of `model_name` under `export_root`; returns its directory."""
  module = TextClassifierModule(tokenizer, model, class_names)
  with tempfile.TemporaryDirectory() as tmp:
    labels = os.path.join(tmp, "labels.txt")
    with open(labels, "w", encoding="utf-8") as f:  # local: a temporary file, copied into the export
      f.write("".join(f"{name}\n" for name in class_names))
    return publish.export_saved_model(
        module,
        signatures={"classify": module.classify.get_concrete_function(),
                    "embed": module.embed.get_concrete_function()},
        export_root=export_root, model_name=model_name, domain="sequences",
        config=config, metrics=metrics, baseline_metrics=baseline_metrics,
        data_fingerprint=data_fingerprint, assets={"labels.txt": labels},
        custom_ops=["tensorflow_text"], default_signature="classify",
        # A real sentence per signature: the server traces tokenizer + model before traffic.
        warmup_requests={name: {"text": np.array([b"warm-up request: a short sentence"], object)}
                         for name in ("classify", "embed")},
        extra_metadata={"task": "text_classification", "class_names": list(class_names),
                        "sequence_length": getattr(tokenizer, "sequence_length", None),
                        "max_input_bytes": tokenizer.max_input_bytes,
                        "over_long_policy": "truncated to sequence_length word pieces; "
                                            "rejected over max_input_bytes bytes"})


def export_result(result, config, export_root: str | os.PathLike) -> pathlib.Path | str:
  """Exports a `train.TrainResult` with its test metrics beside the baseline's."""
  return export(result.tokenizer, result.model, result.data.class_names,
                export_root=export_root, model_name=config.export.model_name, config=config,
                metrics=result.evaluation["model"], baseline_metrics=result.evaluation["baseline"],
                data_fingerprint=result.data.fingerprint)


def export_workdir(workdir: str | os.PathLike, export_root: str | os.PathLike,
                   model_name: str | None = None) -> pathlib.Path | str:
  """Rebuilds the model of a finished `train.py` run from its workdir and exports it."""
  workdir = os.fspath(workdir)  # may be gs://: only tf.io.gfile and TensorFlow ops reach it
  config = config_lib.read_saved(workdir)
  trained = config.get("model")
  if trained is not None and trained not in models.MODEL_NAMES:
    raise ValueError(f"{workdir} trained config.model={trained}; only the neural models "
                     f"({', '.join(models.MODEL_NAMES)}) are rebuilt from a workdir. Export the "
                     "classic baselines and the Ensemble as they train: pass --export_root to "
                     "`bazel run //sequences/text:train`")
  weights = os.path.join(workdir, train.FINAL_WEIGHTS)
  if not tf.io.gfile.exists(f"{weights}.index"):
    raise FileNotFoundError(f"{weights}.index does not exist: {workdir} is not a finished "
                            "training run; run `bazel run //sequences/text:train -- "
                            f"--workdir={workdir}` first")
  class_names = _read_text(os.path.join(workdir, "classes.txt")).splitlines()
  tokenizer = tokenizer_lib.Tokenizer(os.path.join(workdir, "vocab.txt"),
                                      config.tokenizer.sequence_length,
                                      config.tokenizer.max_input_bytes)
  model = train.create_model(config.model, train.model_config(config, tokenizer.vocab_size,
                                                              len(class_names)))
  model(tf.zeros([1, tokenizer.sequence_length], tf.int32))  # create the variables
  model.load_weights(weights).expect_partial()
  evaluation = json.loads(_read_text(os.path.join(workdir, "metrics.json")))
  return export(tokenizer, model, class_names, export_root=export_root,
                model_name=model_name or config.export.model_name, config=config,
                metrics=evaluation["model"], baseline_metrics=evaluation["baseline"],
                data_fingerprint=_read_text(os.path.join(workdir, "data_fingerprint.txt")))


def _read_text(path: str) -> str:
  with tf.io.gfile.GFile(path, "rb") as f:
    return f.read().decode("utf-8")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}")
  path = export_workdir(flags.FLAGS.workdir, flags.FLAGS.export_root, flags.FLAGS.model_name)
  print(f"exported {path}")


if __name__ == "__main__":
  flags.DEFINE_string("workdir", None, "a finished training run's workdir", required=True)
  flags.DEFINE_string("export_root", None, "where to publish", required=True)
  flags.DEFINE_string("model_name", None, "default: the run's config.export.model_name")
  app.run(main)
