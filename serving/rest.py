"""The REST/JSON front, with TensorFlow Serving's URLs and JSON shapes.

    GET  /v1/models/<name>[/versions/<v>]             model version status
    GET  /v1/models/<name>[/versions/<v>]/metadata    signature defs (+ trellis metadata)
    POST /v1/models/<name>[/versions/<v>]:predict     {"signature_name"?, "instances"|"inputs"}
    GET  /metrics                                     Prometheus text format

Built on the standard library's threading HTTP server (one thread per
connection, keep-alive): JSON encoding, not the socket layer, dominates the cost
of a REST call. The in-flight request count is bounded (429 beyond it) and
request bodies are bounded (413), and `stop()` waits for in-flight requests.
"""

import hmac
import http.server
import json
import logging
import re
import socket
import ssl
import threading
import time

import grpc
from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2

from serving import errors, rest_json
from serving.inference import Inference
from serving.metrics import ServingMetrics
from serving.model_service import version_statuses

log = logging.getLogger(__name__)

_MODEL_URL = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?"
    r"(?:(?P<metadata>/metadata)|:(?P<verb>[A-Za-z]+))?/?$")


class _Handler(http.server.BaseHTTPRequestHandler):
  protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
  server_version = "trellis-serving"
  server: "_HTTPServer"

  def setup(self):
    super().setup()
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's
    # algorithm and the client's delayed ACK add ~40 ms to every response.
    self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

  def log_message(self, format, *args):
    log.debug("rest %s", format % args)

  def _send_json(self, status: int, body) -> None:
    data = json.dumps(body).encode()
    self.send_response(status)
    self.send_header("Content-Type", "application/json")
    self.send_header("Content-Length", str(len(data)))
    self.end_headers()
    self.wfile.write(data)

  def _send_error(self, e: errors.ServingError) -> None:
    self._send_json(e.http_status, {"error": e.message})

  def _authorized(self) -> bool:
    token = self.server.bearer_token
    if not token:
      return True
    given = self.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

  def do_GET(self):
    self._dispatch("GET")

  def do_POST(self):
    self._dispatch("POST")

  def _dispatch(self, method: str) -> None:
    try:
      body_length = int(self.headers.get("Content-Length") or 0)
    except ValueError:
      self.close_connection = True
      self._send_json(400, {"error": "Content-Length is not a number"})
      return
    if self.path == "/metrics" and method == "GET":
      data, content_type = self.server.metrics.exposition()
      self.send_response(200)
      self.send_header("Content-Type", content_type)
      self.send_header("Content-Length", str(len(data)))
      self.end_headers()
      self.wfile.write(data)
      return
    if body_length > self.server.max_request_bytes:
      self.close_connection = True  # the unread body would be taken for the next request
      self._send_json(413, {"error": (
          f"request body is {body_length} bytes, over the server's limit of "
          f"{self.server.max_request_bytes} (--max_request_bytes); send fewer instances per request")})
      return
    raw = self.rfile.read(body_length) if body_length else b""
    if not self._authorized():
      self._send_json(401, {"error": "missing or wrong bearer token; send "
                                      "'Authorization: Bearer <token>'"})
      return
    if not self.server.slots.acquire(blocking=False):
      self._send_error(errors.resource_exhausted(
          f"server is at its limit of {self.server.max_concurrent} concurrent requests "
          "(--max_concurrent_requests); retry with backoff"))
      return
    try:
      self._route(method, raw)
    except errors.ServingError as e:
      self._send_error(e)
    except Exception as e:  # a server bug still gets a JSON answer
      log.exception("internal error on %s %s", method, self.path)
      self._send_json(500, {"error": f"internal server error: {type(e).__name__}: {e}"})
    finally:
      self.server.slots.release()

  def _route(self, method: str, raw: bytes) -> None:
    extra = self.server.extra_routes.get((method, self.path.split("?", 1)[0]))
    if extra is None and method == "GET":  # prefix routes, e.g. static files under /demo/images/
      extra = next((fn for (m, prefix), fn in self.server.extra_routes.items()
                    if m == "GET" and len(prefix) > 1 and prefix.endswith("/")
                    and self.path.startswith(prefix)), None)
    if extra is not None:
      status, content_type, data = extra(self.path, raw)
      self.send_response(status)
      self.send_header("Content-Type", content_type)
      self.send_header("Content-Length", str(len(data)))
      self.end_headers()
      self.wfile.write(data)
      return
    match = _MODEL_URL.match(self.path.split("?", 1)[0])
    if not match:
      raise errors.not_found(f"no route {self.path!r}; use /v1/models/<name>[/versions/<v>]"
                             "[:predict|/metadata] or /metrics")
    name, version_text = match["name"], match["version"]
    version = None
    if version_text is not None:
      if not version_text.isdigit():
        raise errors.invalid_argument(f"version {version_text!r} is not a number; version "
                                      "labels are not supported")
      version = int(version_text)
    inference = self.server.inference
    if match["verb"]:
      if method != "POST":
        raise errors.ServingError(grpc.StatusCode.UNIMPLEMENTED,
                                  f":{match['verb']} takes POST")
      if match["verb"] != "predict":
        raise errors.ServingError(grpc.StatusCode.UNIMPLEMENTED,
                                  f":{match['verb']} is not supported over REST; use :predict")
      self._predict(name, version, raw)
      return
    if method != "GET":
      raise errors.ServingError(grpc.StatusCode.UNIMPLEMENTED,
                                f"{method} {self.path} is not supported; POST to ...:predict")
    if match["metadata"]:
      servable = inference.registry.resolve(name, version)
      sig_map = get_model_metadata_pb2.SignatureDefMap()
      for key, sig_def in servable.signature_defs.items():
        sig_map.signature_def[key].CopyFrom(sig_def)
      self._send_json(200, {
          "model_spec": {"name": name, "signature_name": "", "version": str(servable.version)},
          "metadata": {
              "signature_def": json_format.MessageToDict(sig_map, preserving_proto_field_name=True),
              "trellis_metadata": servable.metadata,
          }})
      return
    statuses = version_statuses(inference.registry, name, version)
    self._send_json(200, {"model_version_status": [{
        "version": str(s.version), "state": s.state,
        "status": {"error_code": "UNKNOWN" if s.error else "OK", "error_message": s.error},
    } for s in statuses]})

  def _predict(self, name: str, version: int | None, raw: bytes) -> None:
    try:
      body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
      raise errors.invalid_argument(f"request body is not valid JSON: {e}") from e
    signature_name = body.get("signature_name", "") if isinstance(body, dict) else ""
    if not isinstance(signature_name, str):
      raise errors.invalid_argument("\"signature_name\" must be a string")
    inference = self.server.inference
    start = time.perf_counter()
    try:
      _, sig = inference.resolve(name, version, signature_name)
      inputs, fmt = rest_json.request_to_inputs(body, sig)
    except errors.ServingError as e:  # counted here: Inference never saw the request
      inference.metrics.observe(model=name, version=version or "", signature=signature_name,
                                api="rest", code=e.code.name, seconds=time.perf_counter() - start)
      raise
    _, _, outputs = inference.predict(name, version, sig.name, inputs, api="rest")
    self._send_json(200, rest_json.outputs_to_response(outputs, fmt))


class _HTTPServer(http.server.ThreadingHTTPServer):
  daemon_threads = True  # idle keep-alive connections must not block shutdown
  request_queue_size = 256  # listen backlog: bursts of new connections are not refused
  inference: Inference
  metrics: ServingMetrics
  bearer_token: str | None
  max_request_bytes: int
  max_concurrent: int
  slots: threading.BoundedSemaphore
  extra_routes: dict


class RestServer:
  """Serves the REST front in a background thread."""

  def __init__(self, inference: Inference, *, host: str, port: int, max_request_bytes: int,
               max_concurrent: int, bearer_token: str | None = None,
               ssl_context: ssl.SSLContext | None = None):
    self._httpd = _HTTPServer((host, port), _Handler)
    if ssl_context is not None:
      self._httpd.socket = ssl_context.wrap_socket(self._httpd.socket, server_side=True)
    self._httpd.inference = inference
    self._httpd.metrics = inference.metrics
    self._httpd.bearer_token = bearer_token
    self._httpd.max_request_bytes = max_request_bytes
    self._httpd.max_concurrent = max_concurrent
    self._httpd.slots = threading.BoundedSemaphore(max_concurrent)
    self._httpd.extra_routes = {}
    self._thread = threading.Thread(target=self._httpd.serve_forever, name="rest", daemon=True)

  def add_route(self, method: str, path: str, handler) -> None:
    """Serves `method path` with `handler(path, body) -> (status, content_type, bytes)`.

    For services mounted beside the model API (the Recommendation API). A GET
    path ending in "/" (other than "/") also matches everything under it. The handler may raise
    `errors.ServingError`; auth, size and concurrency limits apply as for /v1/models.
    """
    self._httpd.extra_routes[(method, path)] = handler

  @property
  def port(self) -> int:
    return self._httpd.server_address[1]

  def start(self) -> None:
    self._thread.start()

  def stop(self, grace: float) -> None:
    """Stops accepting requests, then waits up to `grace` s for in-flight ones."""
    self._httpd.shutdown()
    deadline = time.monotonic() + grace
    slots, taken = self._httpd.slots, 0
    # Holding every slot means no request is in flight.
    while taken < self._httpd.max_concurrent and time.monotonic() < deadline:
      if slots.acquire(timeout=max(deadline - time.monotonic(), 0)):
        taken += 1
    self._httpd.server_close()
