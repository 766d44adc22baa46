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

    # Publish a finished training run (any model: a neural one is rebuilt from vocab.txt and
    # final/weights, a classic baseline or the Ensemble is its saved final/saved_model):
    bazel run //sequences/text:export -- --workdir=/tmp/trellis/text_cnn \
        --export_root=/tmp/trellis/exports
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
from collections.abc import Mapping, Sequence

import numpy as np
import tensorflow as tf
from absl import app, flags

from common import config as config_lib
from common.export import publish
from common.training import result as result_lib
from sequences.text import classifier_module, models, train
from sequences.text import tokenizer as tokenizer_lib


def export(tokenizer: tf.keras.layers.Layer, model: tf.keras.Model,
           class_names: Sequence[str], *, export_root: str | os.PathLike, model_name: str,
           config=None, metrics: dict | None = None, baseline_metrics: dict | None = None,
           data_fingerprint: str | None = None) -> pathlib.Path | str:
  """Publishes the next version of `model_name` under `export_root`; returns its directory."""
  module = classifier_module.TextClassifierModule(tokenizer, model, class_names)
  return _publish(module, module.signatures(), class_names,
                  sequence_length=getattr(tokenizer, "sequence_length", None),
                  max_input_bytes=tokenizer.max_input_bytes, export_root=export_root,
                  model_name=model_name, config=config, metrics=metrics,
                  baseline_metrics=baseline_metrics, data_fingerprint=data_fingerprint)


def _publish(module: tf.Module, signatures: Mapping, class_names: Sequence[str], *,
             sequence_length: int | None, max_input_bytes: int, export_root, model_name: str,
             config, metrics, baseline_metrics, data_fingerprint) -> pathlib.Path | str:
  with tempfile.TemporaryDirectory() as tmp:
    labels = os.path.join(tmp, "labels.txt")
    with open(labels, "w", encoding="utf-8") as f:  # local: a temporary file, copied into the export
      f.write("".join(f"{name}\n" for name in class_names))
    return publish.export_saved_model(
        module, signatures=signatures,
        export_root=export_root, model_name=model_name, domain="sequences",
        config=config, metrics=metrics, baseline_metrics=baseline_metrics,
        data_fingerprint=data_fingerprint, assets={"labels.txt": labels},
        custom_ops=["tensorflow_text"], default_signature="classify",
        # A real sentence per signature: the server traces tokenizer + model before traffic.
        warmup_requests={name: {"text": np.array([b"warm-up request: a short sentence"], object)}
                         for name in ("classify", "embed")},
        extra_metadata={"task": "text_classification", "class_names": list(class_names),
                        "sequence_length": sequence_length,
                        "max_input_bytes": max_input_bytes,
                        "over_long_policy": "truncated to sequence_length word pieces; "
                                            "rejected over max_input_bytes bytes"})


def _reported(metrics: Mapping[str, dict]) -> dict:
  """The split an export records: test where the run had one, else validation."""
  return metrics["test"] if "test" in metrics else metrics["validation"]


def export_result(result: result_lib.TrainResult,
                  export_root: str | os.PathLike) -> pathlib.Path | str:
  """Publishes a `train.train_and_evaluate` result with its metrics beside the baseline's."""
  reported = _reported(result.metrics)
  return export(result.extras["tokenizer"], result.model, result.data.class_names,
                export_root=export_root, model_name=result.config.export.model_name,
                config=result.config, metrics=reported["model"],
                baseline_metrics=reported["baseline"], data_fingerprint=result.data_fingerprint)


def export_workdir(workdir: str | os.PathLike, export_root: str | os.PathLike,
                   model_name: str | None = None) -> pathlib.Path | str:
  """Publishes the model of a finished `train` run from its workdir (any model kind)."""
  workdir = os.fspath(workdir)  # may be gs://: only tf.io.gfile and TensorFlow ops reach it
  config = config_lib.read_saved(workdir)
  neural = config.get("model") is None or config.model in models.MODEL_NAMES
  final = os.path.join(workdir, train.FINAL_WEIGHTS + ".index" if neural else train.FINAL_MODULE)
  if not tf.io.gfile.exists(final):
    raise FileNotFoundError(f"{final} does not exist: {workdir} is not a finished training run; "
                            f"run `bazel run //sequences/text:train -- --workdir={workdir}` first")
  summary = result_lib.read_summary(workdir)
  reported = _reported(summary["metrics"])
  class_names = _read_text(os.path.join(workdir, train.CLASSES_FILE)).splitlines()
  options = dict(export_root=export_root, model_name=model_name or config.export.model_name,
                 config=config, metrics=reported["model"], baseline_metrics=reported["baseline"],
                 data_fingerprint=summary["data_fingerprint"])
  if not neural:
    # The classic baselines and the Ensemble were saved whole (their vectorizers and members
    # are not rebuilt from weights alone); their signatures are published as they are.
    loaded = tf.saved_model.load(final)
    info = json.loads(_read_text(os.path.join(workdir, train.FINAL_MODULE_INFO)))
    return _publish(loaded, {name: loaded.signatures[name] for name in ("classify", "embed")},
                    class_names, sequence_length=None, max_input_bytes=info["max_input_bytes"],
                    **options)
  tokenizer = tokenizer_lib.Tokenizer(os.path.join(workdir, "vocab.txt"),
                                      config.tokenizer.sequence_length,
                                      config.tokenizer.max_input_bytes)
  model = train.create_model(config, tokenizer.vocab_size, len(class_names))
  model(tf.zeros([1, tokenizer.sequence_length], tf.int32))  # create the variables
  model.load_weights(os.path.join(workdir, train.FINAL_WEIGHTS)).expect_partial()
  return export(tokenizer, model, class_names, **options)


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
