"""gRPC health checking (grpc.health.v1), overall and per model.

The service name "" is the whole server: SERVING when every served model has an
available version. Each model name is its own service, SERVING while it has an
available version, so a load balancer can route per model. Statuses follow the
registry's change notifications.
"""

from grpc_health.v1 import health, health_pb2

from serving.core.model_registry import ModelRegistry

_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class ModelHealth:
  """Keeps a `grpc_health` servicer in line with the model registry."""

  def __init__(self, registry: ModelRegistry):
    self.registry = registry
    self.servicer = health.HealthServicer(experimental_non_blocking=True)
    self.servicer.set("", _NOT_SERVING)
    registry.add_listener(self._on_change)

  def _on_change(self, name: str) -> None:
    self.servicer.set(name, _SERVING if self.registry.available_versions(name) else _NOT_SERVING)
    names = self.registry.model_names()
    healthy = bool(names) and all(self.registry.available_versions(n) for n in names)
    self.servicer.set("", _SERVING if healthy else _NOT_SERVING)

  def shutdown(self) -> None:
    """Reports NOT_SERVING everywhere (load balancers drain before we stop)."""
    self.servicer.enter_graceful_shutdown()
