"""The real model server in its own process, and the two ways a client talks to it.

A server is started the way users start it (`python -m serving.core.server_main --export_root=...`,
or the Recommendation API's `serving.recommendation.server_main`) on free localhost ports,
which it prints on its first stdout line. `predict_grpc` uses TensorFlow Serving's own
`tensorflow_serving.apis` stubs and `predict_rest` TF Serving's REST/JSON shape, so these
tests exercise exactly what an unmodified TF Serving client sends.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import urllib.request

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

import serving

TIMEOUT = 120  # seconds per call: the first call of a signature traces it, on a loaded machine


class ServerProcess:
  """`python -m <module> --export_root=... --port=0 --rest_port=0 [flags]` until `stop()`."""

  def __init__(self, module: str, export_root: pathlib.Path, log_path: pathlib.Path, *flags: str):
    repo_root = pathlib.Path(serving.__file__).resolve().parents[1]
    self.log_path = log_path
    self._log = open(log_path, "w")  # noqa: SIM115 -- closed in stop()
    self.proc = subprocess.Popen(
        [sys.executable, "-m", module, f"--export_root={export_root}", "--port=0",
         "--rest_port=0", "--poll_seconds=0", *flags],
        stdout=subprocess.PIPE, stderr=self._log, text=True,
        env=dict(os.environ, PYTHONPATH=str(repo_root)), cwd=repo_root)
    # The server prints its ports once every model it found has loaded.
    line = self.proc.stdout.readline()
    if not line.startswith("grpc_port="):
      self.stop()
      raise RuntimeError(f"{module} did not start: {line!r}\n{log_path.read_text()[-3000:]}")
    ports = dict(kv.split("=") for kv in line.split())
    self.grpc_port, self.rest_port = int(ports["grpc_port"]), int(ports["rest_port"])
    self.channel = grpc.insecure_channel(f"localhost:{self.grpc_port}")

  @property
  def grpc_target(self) -> str:
    return f"localhost:{self.grpc_port}"

  def stop(self) -> int:
    if getattr(self, "channel", None) is not None:
      self.channel.close()
    if self.proc.poll() is None:
      self.proc.send_signal(signal.SIGTERM)
    try:
      code = self.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
      self.proc.kill()
      code = self.proc.wait()
    self._log.close()
    return code

  # -- clients ------------------------------------------------------------------------------
  def predict_grpc(self, model: str, inputs: dict, signature: str = "",
                   version: int | None = None) -> tuple[dict[str, np.ndarray], predict_pb2.PredictResponse]:
    """PredictionService.Predict with TF Serving's stubs; numpy inputs -> numpy outputs."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    if signature:
      request.model_spec.signature_name = signature
    if version is not None:
      request.model_spec.version.value = version
    for key, value in inputs.items():
      request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
    stub = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
    response = stub.Predict(request, timeout=TIMEOUT)
    return {k: tf.make_ndarray(v) for k, v in response.outputs.items()}, response

  def rest(self, path: str, body=None) -> dict:
    """GET (no body) or POST JSON to the REST port; the decoded JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://localhost:{self.rest_port}{path}", data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
      return json.loads(response.read())

  def predict_rest(self, model: str, body: dict) -> dict:
    """POST /v1/models/<model>:predict (TF Serving's REST API)."""
    return self.rest(f"/v1/models/{model}:predict", body)
