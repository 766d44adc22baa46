"""The model server: every model under an export root, over gRPC and REST.

`ModelServer(options).start()` loads the current versions (blocking, so the
server answers as soon as `start` returns), then serves:

* gRPC on `options.port`: TensorFlow Serving's PredictionService and
  ModelService, grpc.health.v1 (overall and per model) and server reflection;
* REST on `options.rest_port`: TF Serving's JSON API and Prometheus `/metrics`;

while a watcher thread hot-reloads new versions. `stop(grace)` drains: health
turns NOT_SERVING, no new requests are accepted, in-flight requests finish
(up to `grace` seconds), then batchers and the watcher stop.
"""

import concurrent.futures
import dataclasses
import logging
import pathlib
import ssl

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from tensorflow_serving.apis import (
  model_service_pb2,
  model_service_pb2_grpc,
  prediction_service_pb2,
  prediction_service_pb2_grpc,
)

from serving.core.auth import BearerTokenInterceptor
from serving.core.health import ModelHealth
from serving.core.inference import BatchingOptions, Inference
from serving.core.metrics import ServingMetrics
from serving.core.model_registry import ModelRegistry
from serving.core.model_service import ModelService
from serving.core.prediction_service import PredictionService
from serving.core.tensor_proto import DEFAULT_MAX_TENSOR_BYTES
from serving.rest.server import RestLimits, RestServer
from serving.versions.watcher import VersionPolicy, VersionWatcher

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ServerOptions:
  """Everything `server_main` flags can set; defaults are safe for a laptop.

  Attributes:
    export_root: directory of `<model>/<version>/` exports (TF Serving layout).
    model_names: models to serve; None = every model found under export_root.
    host: interface to bind; localhost unless you mean to expose the server.
    port: gRPC port (0 = pick a free one).
    rest_port: REST port (0 = pick a free one, None = no REST front).
    policy: which versions to serve.
    poll_seconds: how often to look for new versions (0 = never).
    batching: server-side batching options.
    max_request_bytes: largest accepted request message / body.
    max_tensor_bytes: largest size one gRPC Predict request's input tensors may decode to
      (a TensorProto can declare a shape far larger than the bytes it carries).
    max_concurrent_requests: requests in flight per front before RESOURCE_EXHAUSTED / 429.
    num_threads: gRPC handler threads.
    bearer_token: if set, every model request must carry it.
    tls_cert, tls_key: PEM files; both set = TLS on both fronts.
    rest_limits: the REST front's header/body/handshake deadlines and connection cap.
  """

  export_root: str  # a local path or a filesystem URL (gs://, ram://)
  model_names: tuple[str, ...] | None = None
  host: str = "localhost"
  port: int = 8500
  rest_port: int | None = 8501
  policy: VersionPolicy = dataclasses.field(default_factory=VersionPolicy)
  poll_seconds: float = 2.0
  batching: BatchingOptions = dataclasses.field(default_factory=BatchingOptions)
  max_request_bytes: int = 16 * 1024 * 1024
  max_tensor_bytes: int = DEFAULT_MAX_TENSOR_BYTES
  model_max_tensor_bytes: dict[str, int] = dataclasses.field(default_factory=dict)
  max_concurrent_requests: int = 256
  num_threads: int = 16
  bearer_token: str | None = None
  tls_cert: pathlib.Path | None = None
  tls_key: pathlib.Path | None = None
  rest_limits: RestLimits = dataclasses.field(default_factory=RestLimits)


class ModelServer:
  """Wires registry, watcher, request path and the two fronts together."""

  def __init__(self, options: ServerOptions):
    if bool(options.tls_cert) != bool(options.tls_key):
      raise ValueError("TLS needs both --tls_cert and --tls_key")
    self.options = options
    self.metrics = ServingMetrics()
    self.registry = ModelRegistry()
    self.registry.add_listener(self._export_state)
    self.inference = Inference(self.registry, self.metrics, options.batching)
    self.health = ModelHealth(self.registry)
    self.watcher = VersionWatcher(
        options.export_root, self.registry, model_names=options.model_names,
        policy=options.policy, poll_seconds=options.poll_seconds, on_unload=self.inference.drop)
    self._grpc = self._build_grpc()
    self._rest = None
    if options.rest_port is not None:
      self._rest = RestServer(
          self.inference, host=options.host, port=options.rest_port,
          max_request_bytes=options.max_request_bytes,
          max_concurrent=options.max_concurrent_requests, bearer_token=options.bearer_token,
          ssl_context=self._rest_ssl_context(), limits=options.rest_limits)

  def _build_grpc(self) -> grpc.Server:
    opts = self.options
    interceptors = [BearerTokenInterceptor(opts.bearer_token)] if opts.bearer_token else []
    server = grpc.server(
        concurrent.futures.ThreadPoolExecutor(opts.num_threads, thread_name_prefix="grpc"),
        interceptors=interceptors,
        maximum_concurrent_rpcs=opts.max_concurrent_requests,
        options=[("grpc.max_receive_message_length", opts.max_request_bytes),
                 ("grpc.max_send_message_length", opts.max_request_bytes),
                 ("grpc.so_reuseport", 0)])
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(self.inference, opts.max_tensor_bytes, opts.model_max_tensor_bytes),
        server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(self.registry), server)
    health_pb2_grpc.add_HealthServicer_to_server(self.health.servicer, server)
    self._reflected = [
        prediction_service_pb2.DESCRIPTOR.services_by_name["PredictionService"].full_name,
        model_service_pb2.DESCRIPTOR.services_by_name["ModelService"].full_name,
        health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
    ]
    address = f"{opts.host}:{opts.port}"
    if opts.tls_cert:
      credentials = grpc.ssl_server_credentials(
          [(pathlib.Path(opts.tls_key).read_bytes(), pathlib.Path(opts.tls_cert).read_bytes())])
      self.port = server.add_secure_port(address, credentials)
    else:
      self.port = server.add_insecure_port(address)
    if not self.port:
      raise OSError(f"cannot bind gRPC to {address}; is the port in use? pick another with --port")
    return server

  def _rest_ssl_context(self) -> ssl.SSLContext | None:
    if not self.options.tls_cert:
      return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(self.options.tls_cert, self.options.tls_key)
    return context

  def _export_state(self, name: str) -> None:
    for status in self.registry.statuses(name):
      self.metrics.version_state.labels(model=name, version=str(status.version)).set(
          1 if status.state == "AVAILABLE" else 0)

  def add_grpc_service(self, add_to_server, servicer, service_name: str) -> None:
    """Mounts `servicer` with its generated `add_*Servicer_to_server` and lists it in reflection.

    `service_name` is the proto's full name (e.g. "trellis.serving.v1.RecommendationService"),
    so that grpcurl and other reflection clients can discover and call it. Call before `start`.
    """
    add_to_server(servicer, self._grpc)
    self._reflected.append(service_name)

  @property
  def rest(self) -> RestServer | None:
    """For adding REST routes (`rest.add_route`) before `start`."""
    return self._rest

  @property
  def rest_port(self) -> int | None:
    return self._rest.port if self._rest else None

  def start(self) -> "ModelServer":
    self.watcher.poll_once()
    if self.options.poll_seconds > 0:
      self.watcher.start_polling()
    reflection.enable_server_reflection([*self._reflected, reflection.SERVICE_NAME], self._grpc)
    self._grpc.start()
    if self._rest:
      self._rest.start()
    log.info("serving", extra={
        "grpc": f"{self.options.host}:{self.port}",
        "rest": f"{self.options.host}:{self.rest_port}" if self._rest else None,
        "models": {n: self.registry.available_versions(n) for n in self.registry.model_names()},
        "batching": dataclasses.asdict(self.options.batching), "tls": bool(self.options.tls_cert),
        "auth": bool(self.options.bearer_token)})
    return self

  def wait(self) -> None:
    self._grpc.wait_for_termination()

  def stop(self, grace: float = 10.0) -> None:
    """Graceful shutdown: in-flight requests finish (up to `grace` seconds)."""
    log.info("stopping", extra={"grace_seconds": grace})
    self.health.shutdown()
    self.watcher.stop()
    done = self._grpc.stop(grace)
    if self._rest:
      self._rest.stop(grace)
    done.wait()
    self.inference.close()
    log.info("stopped")
