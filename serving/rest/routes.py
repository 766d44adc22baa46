"""TensorFlow Serving's REST routes, independent of the HTTP server that carries them.

    GET  /v1/models/<name>[/versions/<v>]             model version status
    GET  /v1/models/<name>[/versions/<v>]/metadata    signature defs (+ trellis metadata)
    POST /v1/models/<name>[/versions/<v>]:predict     {"signature_name"?, "instances"|"inputs"}

`RestApi.handle(method, path, body)` takes a request whose headers were already
checked (token, size) and whose body was fully read, and returns a `Reply`. It
blocks (it runs the model), so the HTTP front (`serving/rest/server.py`) calls it in a
worker thread. Every failure a client can cause comes back as a `{"error": ...}`
reply with TF Serving's HTTP status; only a server bug is a 500.
"""

import dataclasses
import json
import logging
import re
import time
from collections.abc import Callable

import grpc
from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2

from serving.core import errors
from serving.core.inference import Inference
from serving.core.model_service import version_statuses
from serving.rest import tensor_json

log = logging.getLogger(__name__)

_MODEL_URL = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?"
    r"(?:(?P<metadata>/metadata)|:(?P<verb>[A-Za-z]+))?/?$")


@dataclasses.dataclass(frozen=True)
class Reply:
  status: int
  content_type: str
  body: bytes


def json_reply(status: int, body) -> Reply:
  # ensure_ascii (the default) escapes any lone surrogate a client echoed back into a message.
  return Reply(status, "application/json", json.dumps(body).encode())


def error_reply(e: errors.ServingError) -> Reply:
  return json_reply(e.http_status, {"error": e.message})


# handler(path, body) -> (status, content_type, bytes); may raise errors.ServingError.
RouteHandler = Callable[[str, bytes], tuple[int, str, bytes]]


class RestApi:
  """The model routes plus routes other services mount beside them (`add_route`)."""

  def __init__(self, inference: Inference):
    self.inference = inference
    self.extra_routes: dict[tuple[str, str], RouteHandler] = {}

  def add_route(self, method: str, path: str, handler: RouteHandler) -> None:
    """Serves `method path` with `handler`; a GET path ending in "/" also matches below it."""
    self.extra_routes[(method, path)] = handler

  def handle(self, method: str, path: str, body: bytes) -> Reply:
    """Answers one request; never raises."""
    try:
      return self._route(method, path, body)
    except errors.ServingError as e:
      return error_reply(e)
    except Exception as e:  # a server bug still gets a JSON answer
      log.exception("internal error on %s %s", method, path)
      return json_reply(500, {"error": f"internal server error: {type(e).__name__}: {e}"})

  def _extra_route(self, method: str, path: str) -> RouteHandler | None:
    extra = self.extra_routes.get((method, path.split("?", 1)[0]))
    if extra is None and method == "GET":  # prefix routes, e.g. static files under /demo/images/
      extra = next((fn for (m, prefix), fn in self.extra_routes.items()
                    if m == "GET" and len(prefix) > 1 and prefix.endswith("/")
                    and path.startswith(prefix)), None)
    return extra

  def _route(self, method: str, path: str, body: bytes) -> Reply:
    extra = self._extra_route(method, path)
    if extra is not None:
      return Reply(*extra(path, body))
    match = _MODEL_URL.match(path.split("?", 1)[0])
    if not match:
      raise errors.not_found(f"no route {path!r}; use /v1/models/<name>[/versions/<v>]"
                             "[:predict|/metadata] or /metrics")
    name, version_text = match["name"], match["version"]
    version = None
    if version_text is not None:
      if not version_text.isdigit():
        raise errors.invalid_argument(f"version {version_text!r} is not a number; version "
                                      "labels are not supported")
      version = int(version_text)
    if match["verb"]:
      if method != "POST":
        raise errors.ServingError(grpc.StatusCode.UNIMPLEMENTED, f":{match['verb']} takes POST")
      if match["verb"] != "predict":
        raise errors.ServingError(grpc.StatusCode.UNIMPLEMENTED,
                                  f":{match['verb']} is not supported over REST; use :predict")
      return self._predict(name, version, body)
    if method != "GET":
      raise errors.ServingError(grpc.StatusCode.UNIMPLEMENTED,
                                f"{method} {path} is not supported; POST to ...:predict")
    if match["metadata"]:
      return self._metadata(name, version)
    statuses = version_statuses(self.inference.registry, name, version)
    return json_reply(200, {"model_version_status": [{
        "version": str(s.version), "state": s.state,
        "status": {"error_code": "UNKNOWN" if s.error else "OK", "error_message": s.error},
    } for s in statuses]})

  def _metadata(self, name: str, version: int | None) -> Reply:
    servable = self.inference.registry.resolve(name, version)
    sig_map = get_model_metadata_pb2.SignatureDefMap()
    for key, sig_def in servable.signature_defs.items():
      sig_map.signature_def[key].CopyFrom(sig_def)
    return json_reply(200, {
        "model_spec": {"name": name, "signature_name": "", "version": str(servable.version)},
        "metadata": {
            "signature_def": json_format.MessageToDict(sig_map, preserving_proto_field_name=True),
            "trellis_metadata": servable.metadata,
        }})

  def _predict(self, name: str, version: int | None, raw: bytes) -> Reply:
    body = tensor_json.parse_body(raw)
    signature_name = tensor_json.signature_name(body)
    inference = self.inference
    start = time.perf_counter()
    try:
      _, sig = inference.resolve(name, version, signature_name)
      inputs, fmt = tensor_json.request_to_inputs(body, sig)
    except errors.ServingError as e:  # counted here: Inference never saw the request
      inference.metrics.observe(model=name, version=version or "", signature=signature_name,
                                api="rest", code=e.code.name, seconds=time.perf_counter() - start)
      raise
    _, _, outputs = inference.predict(name, version, sig.name, inputs, api="rest")
    return json_reply(200, tensor_json.outputs_to_response(outputs, fmt))
