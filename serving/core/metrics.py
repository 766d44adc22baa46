"""Prometheus metrics of the model server, exposed at `GET /metrics` on the REST port.

Each server owns a `CollectorRegistry` (not the process-global one), so several
servers in one process (tests, the benchmark) do not mix their counts.
Latency buckets reach down to 100 µs because a small model answers in ~1 ms.
"""

import prometheus_client as prom

_LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                    0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServingMetrics:
  """Request counts, errors, latency, batch sizes and model version states."""

  def __init__(self):
    self.registry = prom.CollectorRegistry()
    labels = ["model", "version", "signature", "api"]
    self.requests = prom.Counter(
        "trellis_serving_requests", "Requests handled, by outcome (gRPC status code name).",
        [*labels, "code"], registry=self.registry)
    self.errors = prom.Counter(
        "trellis_serving_errors", "Requests that failed, by gRPC status code name.",
        [*labels, "code"], registry=self.registry)
    self.latency = prom.Histogram(
        "trellis_serving_request_latency_seconds", "Server-side request latency.",
        labels, buckets=_LATENCY_BUCKETS, registry=self.registry)
    self.batch_size = prom.Histogram(
        "trellis_serving_batch_size", "Rows per executed batch (server-side batching).",
        ["model", "version", "signature"], buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
        registry=self.registry)
    self.version_state = prom.Gauge(
        "trellis_serving_model_version_available",
        "1 when a model version is loaded and answering, else 0.",
        ["model", "version"], registry=self.registry)
    # (model, version, signature, api, code) -> the label children `observe` updates.
    # `labels(**...)` costs ~15 µs a call (it validates and joins the label
    # values under a lock), twice per request; the children never change, so
    # look them up once. A race inserts the same children twice, harmlessly.
    self._children: dict[tuple, tuple] = {}

  def observe(self, *, model: str, version: int | str, signature: str, api: str, code: str,
              seconds: float) -> None:
    key = (model, str(version), signature, api, code)
    children = self._children.get(key)
    if children is None:
      labels = {"model": model, "version": str(version), "signature": signature, "api": api}
      children = (self.requests.labels(**labels, code=code),
                  self.errors.labels(**labels, code=code) if code != "OK" else None,
                  self.latency.labels(**labels) if code == "OK" else None)
      self._children[key] = children
    requests, errors, latency = children
    requests.inc()
    if errors is not None:
      errors.inc()
    else:
      latency.observe(seconds)

  def exposition(self) -> tuple[bytes, str]:
    """The text format body and its content type."""
    return prom.generate_latest(self.registry), prom.CONTENT_TYPE_LATEST
