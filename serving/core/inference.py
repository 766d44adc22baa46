"""The request path shared by the gRPC and REST fronts: resolve, check, run, measure.

`Inference.predict` turns (model, version, signature, numpy inputs) into numpy
outputs: it resolves the model spec in the registry, checks the inputs against
the signature, runs it (through a per-signature `Batcher` when batching is on
and the signature has a batch dimension), and records metrics for every
outcome. Both fronts only translate their wire format to and from numpy.
"""

import dataclasses
import threading
import time
from collections.abc import Iterable, Mapping

import grpc
import numpy as np

from serving.batching.batcher import Batcher
from serving.core import errors
from serving.core.metrics import ServingMetrics
from serving.core.model_registry import ModelRegistry
from serving.core.servable import Servable
from serving.core.signature import Signature

DEFAULT_SIGNATURE = "serving_default"


@dataclasses.dataclass(frozen=True)
class BatchingOptions:
  """Server-side batching (TF Serving's --enable_batching and batching parameters)."""

  enabled: bool = False
  max_batch_size: int = 32
  batch_timeout: float = 0.001  # seconds
  num_threads: int = 1
  always_wait: bool = False  # True: wait batch_timeout even for a lone client, as TF Serving


class Inference:
  """Runs requests against the registry's current versions."""

  def __init__(self, registry: ModelRegistry, metrics: ServingMetrics,
               batching: BatchingOptions = BatchingOptions()):
    self.registry = registry
    self.metrics = metrics
    self.batching = batching
    self._batchers: dict[tuple[int, str], Batcher] = {}
    self._lock = threading.Lock()

  def resolve(self, model: str, version: int | None, signature_name: str
              ) -> tuple[Servable, Signature]:
    servable = self.registry.resolve(model, version)
    key = signature_name or DEFAULT_SIGNATURE
    if key not in servable.signatures:
      raise errors.not_found(
          f"model {model!r} version {servable.version} has no signature {key!r}; its signatures "
          f"are {sorted(servable.signatures)} (set signature_name)")
    return servable, servable.signatures[key]

  def predict(self, model: str, version: int | None, signature_name: str,
              inputs: Mapping[str, np.ndarray], *, deadline: float | None = None,
              api: str = "grpc", output_filter: Iterable[str] = ()
              ) -> tuple[Servable, Signature, dict[str, np.ndarray]]:
    """Runs one request; every outcome is counted in the metrics.

    Args:
      deadline: `time.monotonic()` time the client stops waiting, if any.
      output_filter: output names to return (all when empty).
    """
    start = time.perf_counter()
    version_label, signature_label = "" if version is None else str(version), signature_name
    try:
      servable, sig = self.resolve(model, version, signature_name)
      version_label, signature_label = str(servable.version), sig.name
      wanted = list(output_filter)
      if wanted and (unknown := sorted(set(wanted) - set(sig.outputs))):
        raise errors.invalid_argument(
            f"{sig.describe()} has no output(s) {unknown}; its outputs are {sorted(sig.outputs)}")
      checked = sig.check_inputs(inputs)
      if deadline is not None and time.monotonic() >= deadline:
        raise errors.deadline_exceeded("deadline exceeded before the model ran; raise the timeout")
      outputs = self._run(servable, sig, checked, deadline)
      if wanted:
        outputs = {k: outputs[k] for k in wanted}
    except errors.ServingError as e:
      self.metrics.observe(model=model, version=version_label, signature=signature_label, api=api,
                           code=e.code.name, seconds=time.perf_counter() - start)
      raise
    except Exception:
      self.metrics.observe(model=model, version=version_label, signature=signature_label, api=api,
                           code=grpc.StatusCode.INTERNAL.name, seconds=time.perf_counter() - start)
      raise
    self.metrics.observe(model=model, version=version_label, signature=signature_label, api=api,
                         code="OK", seconds=time.perf_counter() - start)
    return servable, sig, outputs

  def _run(self, servable: Servable, sig: Signature, inputs: Mapping[str, np.ndarray],
           deadline: float | None) -> dict[str, np.ndarray]:
    if not (self.batching.enabled and sig.batchable):
      return sig.run(inputs)
    return self._batcher(servable, sig).submit(inputs, deadline)

  def _batcher(self, servable: Servable, sig: Signature) -> Batcher:
    key = (id(servable), sig.name)
    batcher = self._batchers.get(key)  # the common case, without taking the lock
    if batcher is not None:
      return batcher
    with self._lock:
      batcher = self._batchers.get(key)
      if batcher is None:
        histogram = self.metrics.batch_size.labels(
            model=servable.name, version=str(servable.version), signature=sig.name)
        batcher = Batcher(sig.run, max_batch_size=self.batching.max_batch_size,
                          batch_timeout=self.batching.batch_timeout,
                          num_threads=self.batching.num_threads, on_batch=histogram.observe,
                          always_wait=self.batching.always_wait,
                          name=f"batch-{servable.name}-{servable.version}-{sig.name}")
        self._batchers[key] = batcher
      return batcher

  def drop(self, servable: Servable) -> None:
    """Closes the batchers of an unloaded version (after their queued work)."""
    with self._lock:
      keys = [k for k in self._batchers if k[0] == id(servable)]
      batchers = [self._batchers.pop(k) for k in keys]
    for b in batchers:
      b.close()

  def close(self) -> None:
    with self._lock:
      batchers = list(self._batchers.values())
      self._batchers.clear()
    for b in batchers:
      b.close()
