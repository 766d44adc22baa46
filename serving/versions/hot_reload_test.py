"""Hot reload under load: v2 replaces v1 without a failed request; a corrupt v3 changes nothing.

Clients call the server continuously from several threads (gRPC and REST)
while the test publishes new versions into the export root the server polls.
Batching is on, so the retired version's batcher is also drained under load.
"""

import json
import threading
import time
import urllib.request

import grpc
import numpy as np
import pytest
import tensorflow as tf
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tensorflow_serving.apis import (
  get_model_status_pb2,
  model_service_pb2_grpc,
  predict_pb2,
  prediction_service_pb2_grpc,
)

from serving.core.inference import BatchingOptions
from serving.core.server import ModelServer, ServerOptions
from serving.testing import models

X = np.ones((1, 3), np.float32)  # total = 3 * version


class Load:
  """Threads that call the server until stopped; records (version, total) or the error."""

  def __init__(self, server: ModelServer, grpc_threads: int = 3):
    self.stop = threading.Event()
    self.results: dict[str, list] = {}
    self.errors: list = []
    channel = grpc.insecure_channel(f"localhost:{server.port}")
    self._channel = channel
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "affine"
    request.inputs["x"].CopyFrom(tf.make_tensor_proto(X))

    def grpc_loop(name):
      while not self.stop.is_set():
        try:
          response = stub.Predict(request, timeout=30)
          self.results[name].append((response.model_spec.version.value,
                                     float(tf.make_ndarray(response.outputs["total"])[0])))
        except grpc.RpcError as e:
          self.errors.append((name, e.code(), e.details()))

    def rest_loop(name):
      url = f"http://localhost:{server.rest_port}/v1/models/affine:predict"
      body = json.dumps({"instances": X.tolist()}).encode()
      while not self.stop.is_set():
        try:
          with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=30) as r:
            total = json.loads(r.read())["predictions"][0]["total"]
          self.results[name].append((round(total / 3), total))
        except Exception as e:  # any failure is what the test looks for
          self.errors.append((name, type(e).__name__, str(e)))

    self.threads = []
    for i in range(grpc_threads):
      self.results[f"grpc{i}"] = []
      self.threads.append(threading.Thread(target=grpc_loop, args=(f"grpc{i}",)))
    self.results["rest"] = []
    self.threads.append(threading.Thread(target=rest_loop, args=("rest",)))
    for t in self.threads:
      t.start()

  def latest_versions(self) -> set[int]:
    return {r[-1][0] for r in self.results.values() if r}

  def wait_for(self, version: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while self.latest_versions() != {version}:
      assert time.monotonic() < deadline, f"clients still see {self.latest_versions()}"
      assert not self.errors, self.errors[:3]
      time.sleep(0.05)

  def finish(self) -> None:
    self.stop.set()
    for t in self.threads:
      t.join()
    self._channel.close()


@pytest.fixture
def server(tmp_path):
  models.publish_affine(tmp_path, 1)
  server = ModelServer(ServerOptions(
      tmp_path, port=0, rest_port=0, poll_seconds=0.2,
      batching=BatchingOptions(enabled=True, max_batch_size=8, batch_timeout=0.002))).start()
  yield server
  server.stop(grace=5)


def test_new_version_swaps_in_under_load_and_corrupt_version_is_reported(server, tmp_path):
  load = Load(server)
  try:
    load.wait_for(1)
    models.publish_affine(tmp_path, 2)
    load.wait_for(2)
    before_corrupt = sum(len(r) for r in load.results.values())
    models.publish_corrupt(tmp_path, "affine", 3)
    deadline = time.monotonic() + 30
    while server.registry.statuses("affine")[-1].state != "END":
      assert time.monotonic() < deadline, server.registry.statuses("affine")
      time.sleep(0.05)
    time.sleep(0.5)  # keep the load on after the failed load
    assert sum(len(r) for r in load.results.values()) > before_corrupt
  finally:
    load.finish()

  assert not load.errors, load.errors[:5]
  for name, results in load.results.items():
    versions = [v for v, _ in results]
    # Each client switches once, from 1 to 2, and never goes back (v1 was retired).
    assert versions == sorted(versions) and set(versions) == {1, 2}, (name, set(versions))
    assert all(total == pytest.approx(3.0 * v) for v, total in results), name

  with grpc.insecure_channel(f"localhost:{server.port}") as channel:
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "affine"
    status = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(request, timeout=30)
    states = {s.version: s for s in status.model_version_status}
    State = get_model_status_pb2.ModelVersionStatus.State
    assert states[1].state == State.END and states[1].status.error_message == ""
    assert states[2].state == State.AVAILABLE
    assert states[3].state == State.END
    assert states[3].status.error_code != 0
    assert "cannot load SavedModel" in states[3].status.error_message
    health = health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service="affine"), timeout=30)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
