"""TensorFlow Serving warm-up requests recorded with an export, so a new version answers fast.

The first call of each signature traces and optimises its graph (seconds for a ResNet or a
tokenizer). A server that swaps in a new version before that has happened stalls the first
requests after a hot reload. TF Serving's answer is a file of real requests recorded with the
export, `assets.extra/tf_serving_warmup_requests` (TFRecord of `PredictionLog`), which it
replays before it marks the version AVAILABLE; our server (`serving/core/servable.py`) does the same.

A synthetic request (zeros, empty strings) does not do: exports that take raw input reject it
by design (empty image bytes, an empty string, a window of the wrong length), so each domain
records one real raw input per signature, taken from its training data:

    export_saved_model(..., warmup_requests={"classify": {"image_bytes": [png_bytes]}})
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from common.export import versions

# Where TF Serving looks (tensorflow_serving/servables/tensorflow/saved_model_warmup_util.cc).
WARMUP_FILE = "assets.extra/tf_serving_warmup_requests"


def check(signatures: Mapping, requests: Mapping[str, Mapping]) -> None:
  """Runs each request on its in-memory signature, so a bad example fails at export time.

  Raises:
    ValueError: a request names an unknown signature or does not run on it.
  """
  for name, inputs in requests.items():
    if name not in signatures:
      raise ValueError(f"warmup_requests names signature {name!r}, which the export does not "
                       f"have; use one of {sorted(signatures)}")
    try:
      signatures[name](**{key: tf.constant(np.asarray(value)) for key, value in inputs.items()})
    except Exception as e:  # any failure means the example is unusable
      # A graph error's text ends with the op's own message, after TF's Python traceback.
      reason = str(e).strip().split("\n\n")[-1].strip()
      raise ValueError(f"warm-up request for {name!r} does not run on the model: {reason}; "
                       "record a real raw input from the training data") from e


def write(export_dir: str | os.PathLike, model_name: str,
          requests: Mapping[str, Mapping]) -> pathlib.Path | str:
  """Writes one Predict request per signature as TF Serving's warm-up file; returns its path.

  `export_dir` may be local or on any file system TensorFlow knows (gs://, ram://).
  """
  from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

  path = versions.join(export_dir, *WARMUP_FILE.split("/"))
  tf.io.gfile.makedirs(os.fspath(versions.join(export_dir, WARMUP_FILE.split("/")[0])))
  with tf.io.TFRecordWriter(os.fspath(path)) as writer:
    for name, inputs in requests.items():
      request = predict_pb2.PredictRequest(
          model_spec=model_pb2.ModelSpec(name=model_name, signature_name=name))
      for key, value in inputs.items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(np.asarray(value)))
      log = prediction_log_pb2.PredictionLog(
          predict_log=prediction_log_pb2.PredictLog(request=request))
      writer.write(log.SerializeToString())
  return path


def read(export_dir: str | os.PathLike) -> list[tuple[str, dict[str, np.ndarray]]]:
  """The recorded Predict requests as (signature name, inputs); [] when the export has none.

  Other kinds of log (Classify, Regress, which TF Serving's format also allows) are skipped.
  """
  from tensorflow_serving.apis import prediction_log_pb2

  path = f"{str(export_dir).rstrip('/')}/{WARMUP_FILE}"  # any filesystem (gs://, ram://)
  if not tf.io.gfile.exists(path):
    return []
  out = []
  for record in tf.data.TFRecordDataset(str(path)):
    log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
    if not log.HasField("predict_log"):
      continue
    request = log.predict_log.request
    out.append((request.model_spec.signature_name or "serving_default",
                {k: tf.make_ndarray(v) for k, v in request.inputs.items()}))
  return out
