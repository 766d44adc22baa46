"""Python clients for the trellis model server: gRPC (TF Serving protos) and REST.

    from serving.clients import model_client
    with model_client.ModelClient("localhost:8500") as c:
      outputs = c.predict("vision_resnet20", {"image_bytes": [jpeg]}, signature="classify")
      c.status("vision_resnet20")     # [{"version": 3, "state": "AVAILABLE", "error": ""}]
      c.metadata("vision_resnet20")   # signature specs + the export's metadata.json

    rest = model_client.RestClient("http://localhost:8501")
    rest.predict("vision_resnet20", instances=[{"b64": ...}], signature="classify")

Both talk to any TensorFlow Serving-compatible server. Failures raise
`ServingError` with the server's status code and message.
"""

import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import json_format, struct_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tensorflow_serving.apis import (
  get_model_metadata_pb2,
  get_model_status_pb2,
  model_service_pb2_grpc,
  predict_pb2,
  prediction_service_pb2_grpc,
)

from serving.clients.grpc_client import GrpcClient
from serving.core.errors import ServingError

_State = get_model_status_pb2.ModelVersionStatus.State


def _as_array(value: Any) -> np.ndarray:
  array = np.asarray(value)
  if array.dtype.kind == "U":  # Python str -> UTF-8 bytes, as tf.string holds them
    array = np.vectorize(lambda s: s.encode("utf-8"), otypes=[object])(array)
  return array


class ModelClient(GrpcClient):
  """gRPC client using TensorFlow Serving's stubs.

  Args:
    target: "host:port" of the gRPC front.
    token: bearer token, if the server checks one.
    root_certificates: PEM bytes of the CA; set to use TLS.
    timeout: default per-call deadline in seconds.
  """

  def __init__(self, target: str = "localhost:8500", **options):
    super().__init__(target, **options)
    self.prediction = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
    self.models = model_service_pb2_grpc.ModelServiceStub(self.channel)
    self.health_stub = health_pb2_grpc.HealthStub(self.channel)

  def predict(self, model: str, inputs: Mapping[str, Any], *, signature: str = "",
              version: int | None = None, timeout: float | None = None) -> dict[str, np.ndarray]:
    """Calls Predict; inputs are arrays (or nested lists) in the signature's dtypes."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature
    if version is not None:
      request.model_spec.version.value = version
    for key, value in inputs.items():
      request.inputs[key].CopyFrom(tf.make_tensor_proto(_as_array(value)))
    response = self.call(self.prediction.Predict, request, timeout)
    return {k: tf.make_ndarray(v) for k, v in response.outputs.items()}

  def metadata(self, model: str, version: int | None = None) -> dict[str, Any]:
    """{"version", "signature_def" (as JSON dict), "trellis_metadata"} of a model version."""
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = model
    if version is not None:
      request.model_spec.version.value = version
    request.metadata_field.extend(["signature_def", "trellis_metadata"])
    response = self.call(self.prediction.GetModelMetadata, request, None)
    sig_map = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(sig_map)
    struct = struct_pb2.Struct()
    response.metadata["trellis_metadata"].Unpack(struct)
    return {"version": response.model_spec.version.value,
            "signature_def": json_format.MessageToDict(sig_map, preserving_proto_field_name=True)
            .get("signature_def", {}),
            "trellis_metadata": json_format.MessageToDict(struct)}

  def input_dtypes(self, model: str, signature: str = "", version: int | None = None
                   ) -> dict[str, tf.DType]:
    """Input name -> dtype of a signature, read from GetModelMetadata."""
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = model
    if version is not None:
      request.model_spec.version.value = version
    sig_map = get_model_metadata_pb2.SignatureDefMap()
    self.call(self.prediction.GetModelMetadata, request, None).metadata["signature_def"].Unpack(sig_map)
    key = signature or "serving_default"
    if key not in sig_map.signature_def:
      raise ServingError(grpc.StatusCode.NOT_FOUND, f"model {model!r} has no signature {key!r}; "
                         f"it has {sorted(sig_map.signature_def)}")
    return {k: tf.as_dtype(v.dtype) for k, v in sig_map.signature_def[key].inputs.items()}

  def status(self, model: str, version: int | None = None) -> list[dict[str, Any]]:
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = model
    if version is not None:
      request.model_spec.version.value = version
    response = self.call(self.models.GetModelStatus, request, None)
    return [{"version": s.version, "state": _State.Name(s.state), "error": s.status.error_message}
            for s in response.model_version_status]

  def health(self, service: str = "") -> str:
    """"SERVING" / "NOT_SERVING" for the server ("") or one model (its name)."""
    response = self.call(self.health_stub.Check, health_pb2.HealthCheckRequest(service=service),
                          None)
    return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)


class RestClient:
  """REST/JSON client (TF Serving's API), standard library only."""

  def __init__(self, base_url: str = "http://localhost:8501", *, token: str | None = None,
               timeout: float = 10.0):
    self.base_url = base_url.rstrip("/")
    self._headers = {"Content-Type": "application/json"}
    if token:
      self._headers["Authorization"] = f"Bearer {token}"
    self.timeout = timeout

  def _url(self, model: str, version: int | None, suffix: str = "") -> str:
    url = f"{self.base_url}/v1/models/{model}"
    if version is not None:
      url += f"/versions/{version}"
    return url + suffix

  def _request(self, url: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=self._headers)
    try:
      with urllib.request.urlopen(request, timeout=self.timeout) as response:
        return json.loads(response.read())
    except urllib.error.HTTPError as e:
      message = e.read().decode(errors="replace")
      with contextlib.suppress(ValueError, KeyError, TypeError):
        message = json.loads(message)["error"]
      code = {400: grpc.StatusCode.INVALID_ARGUMENT, 401: grpc.StatusCode.UNAUTHENTICATED,
              404: grpc.StatusCode.NOT_FOUND, 413: grpc.StatusCode.RESOURCE_EXHAUSTED,
              429: grpc.StatusCode.RESOURCE_EXHAUSTED, 503: grpc.StatusCode.UNAVAILABLE,
              504: grpc.StatusCode.DEADLINE_EXCEEDED}.get(e.code, grpc.StatusCode.UNKNOWN)
      raise ServingError(code, f"HTTP {e.code}: {message}") from e

  def predict(self, model: str, *, instances: list | None = None, inputs: Any = None,
              signature: str = "", version: int | None = None) -> dict:
    """POST :predict; returns {"predictions": ...} (instances) or {"outputs": ...} (inputs)."""
    body: dict[str, Any] = {"instances": instances} if instances is not None else {"inputs": inputs}
    if signature:
      body["signature_name"] = signature
    return self._request(self._url(model, version, ":predict"), body)

  def status(self, model: str, version: int | None = None) -> dict:
    return self._request(self._url(model, version))

  def metadata(self, model: str, version: int | None = None) -> dict:
    return self._request(self._url(model, version, "/metadata"))
