"""TensorFlow Serving's `PredictionService` over the server's loaded models.

Implements the servicer generated in `tensorflow_serving.apis`, so the stock
`PredictionServiceStub` (and any TF Serving client) works unchanged:
Predict, Classify (for signatures with a `scores` output whose inputs can be
read from tf.Example features of the same names) and GetModelMetadata
(`signature_def`, plus `trellis_metadata`: the export's metadata.json).
Regress and MultiInference answer UNIMPLEMENTED with what to use instead.
"""

import json
import time
from collections.abc import Mapping

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import struct_pb2
from tensorflow_serving.apis import (
  classification_pb2,
  get_model_metadata_pb2,
  predict_pb2,
  prediction_service_pb2_grpc,
)

from serving.core import errors, tensor_proto
from serving.core.grpc_errors import handle_errors
from serving.core.inference import Inference

SIGNATURE_DEF = "signature_def"
TRELLIS_METADATA = "trellis_metadata"


def model_spec_version(spec) -> int | None:
  """The pinned version of a ModelSpec, or None for "latest"."""
  if spec.version_label:
    raise errors.invalid_argument(
        f"version labels are not supported (got {spec.version_label!r}); pin a version number "
        "in model_spec.version or leave it empty for the latest")
  return spec.version.value if spec.HasField("version") else None


def deadline_of(context) -> float | None:
  remaining = context.time_remaining()
  return None if remaining is None else time.monotonic() + remaining


def _examples_to_inputs(examples, sig) -> dict[str, np.ndarray]:
  """Reads each signature input from the tf.Example feature of the same name."""
  inputs = {}
  for key, spec in sig.inputs.items():
    rows = []
    for i, example in enumerate(examples):
      if key not in example.features.feature:
        raise errors.invalid_argument(
            f"example {i} has no feature {key!r}; {sig.describe()} reads features "
            f"{sorted(sig.inputs)}")
      feature = example.features.feature[key]
      kind = feature.WhichOneof("kind")
      rows.append(list(getattr(feature, kind).value) if kind else [])
    try:
      dtype = object if spec.dtype == tf.string else spec.dtype.as_numpy_dtype
      value = np.array(rows, dtype=dtype)
      value = value.reshape([len(rows), *[-1 if d is None else d for d in spec.shape.as_list()[1:]]])
    except (ValueError, TypeError) as e:
      raise errors.invalid_argument(
          f"feature {key!r} does not fit {sig.describe()} input {spec} ({e})") from e
    inputs[key] = value
  return inputs


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
  """gRPC front of `Inference` in TF Serving's wire format."""

  def __init__(self, inference: Inference,
               max_tensor_bytes: int = tensor_proto.DEFAULT_MAX_TENSOR_BYTES,
               model_max_tensor_bytes: Mapping[str, int] | None = None):
    """`max_tensor_bytes` bounds what one request's input tensors may decode to;
    `model_max_tensor_bytes` replaces it for the models it names."""
    self.inference = inference
    self.max_tensor_bytes = max_tensor_bytes
    self.model_max_tensor_bytes = dict(model_max_tensor_bytes or {})

  def tensor_limit(self, model: str) -> tuple[int, str]:
    """The byte limit for `model`'s inputs and the flag that sets it."""
    if model in self.model_max_tensor_bytes:
      return self.model_max_tensor_bytes[model], f"--model_max_tensor_bytes={model}:BYTES"
    return self.max_tensor_bytes, "--max_tensor_bytes"

  @handle_errors
  def Predict(self, request, context):  # noqa: N802 -- gRPC method name
    spec = request.model_spec
    inputs = tensor_proto.to_ndarrays(request.inputs, *self.tensor_limit(spec.name))
    servable, sig, outputs = self.inference.predict(
        spec.name, model_spec_version(spec), spec.signature_name, inputs,
        deadline=deadline_of(context), api="grpc", output_filter=request.output_filter)
    response = predict_pb2.PredictResponse()
    response.model_spec.name = servable.name
    response.model_spec.version.value = servable.version
    response.model_spec.signature_name = sig.name
    for key, value in outputs.items():
      tensor_proto.fill(response.outputs[key], value)
    return response

  @handle_errors
  def Classify(self, request, context):  # noqa: N802 -- gRPC method name
    spec = request.model_spec
    kind = request.input.WhichOneof("kind")
    if kind != "example_list":
      raise errors.invalid_argument(
          f"Classify takes input.example_list (got {kind or 'nothing'}); context examples are "
          "not supported, merge the context features into each example")
    servable, sig = self.inference.resolve(spec.name, model_spec_version(spec), spec.signature_name)
    if "scores" not in sig.outputs:
      raise errors.invalid_argument(
          f"{sig.describe()} has no 'scores' output, so it cannot answer Classify; its outputs "
          f"are {sorted(sig.outputs)}. Use Predict")
    examples = list(request.input.example_list.examples)
    inputs = _examples_to_inputs(examples, sig)
    _, sig, outputs = self.inference.predict(
        servable.name, servable.version, sig.name, inputs, deadline=deadline_of(context),
        api="grpc_classify")
    scores = np.asarray(outputs["scores"]).reshape(len(examples), -1)
    classes = outputs.get("classes")
    response = classification_pb2.ClassificationResponse()
    response.model_spec.name = servable.name
    response.model_spec.version.value = servable.version
    response.model_spec.signature_name = sig.name
    for i in range(len(examples)):
      result = response.result.classifications.add()
      labels = np.asarray(classes).reshape(len(examples), -1)[i] if classes is not None else None
      for j, score in enumerate(scores[i]):
        label = labels[j] if labels is not None else str(j)
        result.classes.add(label=label.decode() if isinstance(label, bytes) else str(label),
                           score=float(score))
    return response

  @handle_errors
  def Regress(self, request, context):  # noqa: N802 -- gRPC method name
    raise errors.ServingError(grpc.StatusCode.UNIMPLEMENTED,
                              "Regress is not supported by trellis exports; call Predict")

  @handle_errors
  def MultiInference(self, request, context):  # noqa: N802 -- gRPC method name
    raise errors.ServingError(grpc.StatusCode.UNIMPLEMENTED,
                              "MultiInference is not supported; call Predict once per signature")

  @handle_errors
  def GetModelMetadata(self, request, context):  # noqa: N802 -- gRPC method name
    fields = list(request.metadata_field)
    if not fields:
      raise errors.invalid_argument(
          f"metadata_field is empty; ask for {SIGNATURE_DEF!r} (and/or {TRELLIS_METADATA!r})")
    unknown = sorted(set(fields) - {SIGNATURE_DEF, TRELLIS_METADATA})
    if unknown:
      raise errors.invalid_argument(
          f"unsupported metadata_field {unknown}; supported: {[SIGNATURE_DEF, TRELLIS_METADATA]}")
    servable = self.inference.registry.resolve(
        request.model_spec.name, model_spec_version(request.model_spec))
    response = get_model_metadata_pb2.GetModelMetadataResponse()
    response.model_spec.name = servable.name
    response.model_spec.version.value = servable.version
    if SIGNATURE_DEF in fields:
      sig_map = get_model_metadata_pb2.SignatureDefMap()
      for key, sig_def in servable.signature_defs.items():
        sig_map.signature_def[key].CopyFrom(sig_def)
      response.metadata[SIGNATURE_DEF].Pack(sig_map)
    if TRELLIS_METADATA in fields:
      struct = struct_pb2.Struct()
      struct.update(json.loads(json.dumps(servable.metadata, default=str)))
      response.metadata[TRELLIS_METADATA].Pack(struct)
    return response
