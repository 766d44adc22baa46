"""End to end: the real server process on free localhost ports, called with TF Serving's stubs and REST.

The server is started the way users start it (`server_main`, flags), in its own
process, so it also proves that exports using tensorflow-text load from their
metadata (the server process imports nothing else). Answers are compared with
the same SavedModel called in-process on the same raw input.
"""

import base64
import contextlib
import io
import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import grpc
import numpy as np
import pytest
import tensorflow as tf
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from tensorflow_serving.apis import (
  classification_pb2,
  get_model_metadata_pb2,
  get_model_status_pb2,
  model_service_pb2_grpc,
  predict_pb2,
  prediction_service_pb2_grpc,
)

import serving
from serving.clients import cli, model_client
from serving.testing import models

X = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0], [0.0, 0.0, 0.0]], np.float32)
TEXTS = [b"hello serving world", "naïve café".encode(), b""]


class ServerProcess:
  """`python -m serving.core.server_main ...` with its ports read from stdout."""

  def __init__(self, export_root: pathlib.Path, log_path: pathlib.Path, *flags: str):
    repo_root = pathlib.Path(serving.__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(repo_root))
    self.log_path = log_path
    self._log = open(log_path, "w")  # noqa: SIM115 -- closed in stop()
    self.proc = subprocess.Popen(
        [sys.executable, "-m", "serving.core.server_main", f"--export_root={export_root}",
         "--port=0", "--rest_port=0", *flags],
        stdout=subprocess.PIPE, stderr=self._log, text=True, env=env, cwd=repo_root)
    line = self.proc.stdout.readline()
    if not line.startswith("grpc_port="):
      self.proc.kill()
      raise RuntimeError(f"server did not start: {line!r}\n{log_path.read_text()[-3000:]}")
    ports = dict(kv.split("=") for kv in line.split())
    self.grpc_port, self.rest_port = int(ports["grpc_port"]), int(ports["rest_port"])

  def stop(self) -> int:
    if self.proc.poll() is None:
      self.proc.send_signal(signal.SIGTERM)
    code = self.proc.wait(timeout=60)
    self._log.close()
    return code


@pytest.fixture(scope="module")
def export_root(tmp_path_factory):
  root = tmp_path_factory.mktemp("exports")
  models.publish_affine(root, 1)
  models.publish_affine(root, 2)
  models.publish_text(root)
  return root


@pytest.fixture(scope="module")
def server(export_root, tmp_path_factory):
  # Batching on with a long timeout: single requests still answer (after the
  # timeout), and the shutdown test has a request in flight for sure.
  proc = ServerProcess(export_root, tmp_path_factory.mktemp("logs") / "server.log",
                       "--num_latest_versions=2", "--enable_batching",
                       "--batch_timeout_micros=200000", "--max_batch_size=64",
                       "--batch_always_wait")
  yield proc
  proc.stop()


@pytest.fixture(scope="module")
def channel(server):
  with grpc.insecure_channel(f"localhost:{server.grpc_port}") as ch:
    yield ch


@pytest.fixture(scope="module")
def in_process(export_root):
  import tensorflow_text  # noqa: F401 -- the text model's ops, as the server imports them
  return {"affine": tf.saved_model.load(str(export_root / "affine" / "2")),
          "affine_v1": tf.saved_model.load(str(export_root / "affine" / "1")),
          "text": tf.saved_model.load(str(export_root / "text" / "1"))}


def _rest(server, path, body=None):
  data = None if body is None else json.dumps(body).encode()
  request = urllib.request.Request(f"http://localhost:{server.rest_port}{path}", data=data)
  with urllib.request.urlopen(request, timeout=30) as response:
    return response.status, json.loads(response.read())


def test_predict_over_grpc_equals_in_process(channel, in_process):
  stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
  request = predict_pb2.PredictRequest()
  request.model_spec.name = "affine"
  request.inputs["x"].CopyFrom(tf.make_tensor_proto(X))
  response = stub.Predict(request, timeout=30)
  expected = in_process["affine"].signatures["serving_default"](x=tf.constant(X))
  assert response.model_spec.version.value == 2  # latest of the two served versions
  assert response.model_spec.signature_name == "serving_default"
  np.testing.assert_array_equal(tf.make_ndarray(response.outputs["y"]), expected["y"].numpy())
  np.testing.assert_array_equal(tf.make_ndarray(response.outputs["total"]), expected["total"].numpy())
  # A pinned older version answers with its own weights.
  request.model_spec.version.value = 1
  response = stub.Predict(request, timeout=30)
  expected_v1 = in_process["affine_v1"].signatures["serving_default"](x=tf.constant(X))
  np.testing.assert_array_equal(tf.make_ndarray(response.outputs["y"]), expected_v1["y"].numpy())


def test_raw_string_model_with_custom_ops_over_grpc_and_rest(server, channel, in_process):
  expected = in_process["text"].signatures["serving_default"](text=tf.constant(TEXTS))
  stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
  request = predict_pb2.PredictRequest()
  request.model_spec.name = "text"
  request.inputs["text"].CopyFrom(tf.make_tensor_proto(np.array(TEXTS, dtype=object)))
  response = stub.Predict(request, timeout=30)
  for key in ("num_tokens", "length", "upper_bytes"):
    np.testing.assert_array_equal(tf.make_ndarray(response.outputs[key]), expected[key].numpy())
  status, body = _rest(server, "/v1/models/text:predict", {
      "instances": [{"b64": base64.b64encode(t).decode()} for t in TEXTS]})
  assert status == 200
  assert [p["num_tokens"] for p in body["predictions"]] == expected["num_tokens"].numpy().tolist()
  assert [base64.b64decode(p["upper_bytes"]["b64"]) for p in body["predictions"]] == list(
      expected["upper_bytes"].numpy())


def test_predict_over_rest_rows_and_columns(server, in_process):
  expected = in_process["affine"].signatures["serving_default"](x=tf.constant(X))
  status, rows = _rest(server, "/v1/models/affine:predict", {"instances": X.tolist()})
  assert status == 200
  np.testing.assert_allclose([p["y"] for p in rows["predictions"]], expected["y"].numpy(), rtol=1e-6)
  status, cols = _rest(server, "/v1/models/affine/versions/1:predict",
                       {"signature_name": "classify", "inputs": {"x": X.tolist()}})
  expected_v1 = in_process["affine_v1"].signatures["classify"](x=tf.constant(X))
  np.testing.assert_allclose(cols["outputs"]["scores"], expected_v1["scores"].numpy(), rtol=1e-6)
  assert cols["outputs"]["classes"][0] == ["neg", "pos"]


def test_classify_with_tf_examples(channel, in_process):
  stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
  request = classification_pb2.ClassificationRequest()
  request.model_spec.name = "affine"
  request.model_spec.signature_name = "classify"
  for row in X:
    example = request.input.example_list.examples.add()
    example.features.feature["x"].float_list.value.extend(row.tolist())
  response = stub.Classify(request, timeout=30)
  expected = in_process["affine"].signatures["classify"](x=tf.constant(X))["scores"].numpy()
  for i, result in enumerate(response.result.classifications):
    assert [c.label for c in result.classes] == ["neg", "pos"]
    np.testing.assert_allclose([c.score for c in result.classes], expected[i], rtol=1e-6)


def test_metadata_and_status(server, channel):
  stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
  request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
  request.model_spec.name = "affine"
  response = stub.GetModelMetadata(request, timeout=30)
  sig_map = get_model_metadata_pb2.SignatureDefMap()
  response.metadata["signature_def"].Unpack(sig_map)
  assert {"serving_default", "classify", "scaled"} <= set(sig_map.signature_def)
  x = sig_map.signature_def["serving_default"].inputs["x"]
  assert x.dtype == tf.float32.as_datatype_enum
  assert [d.size for d in x.tensor_shape.dim] == [-1, 3]

  models = model_service_pb2_grpc.ModelServiceStub(channel)
  status_request = get_model_status_pb2.GetModelStatusRequest()
  status_request.model_spec.name = "affine"
  status = models.GetModelStatus(status_request, timeout=30)
  available = get_model_status_pb2.ModelVersionStatus.AVAILABLE
  assert [(s.version, s.state) for s in status.model_version_status] == [(1, available), (2, available)]

  _, rest_status = _rest(server, "/v1/models/affine/versions/2")
  assert rest_status == {"model_version_status": [
      {"version": "2", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}
  _, rest_meta = _rest(server, "/v1/models/text/metadata")
  assert rest_meta["model_spec"]["version"] == "1"
  assert "serving_default" in rest_meta["metadata"]["signature_def"]["signature_def"]
  assert rest_meta["metadata"]["trellis_metadata"]["custom_ops"] == ["tensorflow_text"]


def test_health_and_reflection(channel):
  health = health_pb2_grpc.HealthStub(channel)
  serving_status = health_pb2.HealthCheckResponse.SERVING
  for service in ("", "affine", "text"):
    assert health.Check(health_pb2.HealthCheckRequest(service=service), timeout=30).status == serving_status
  with pytest.raises(grpc.RpcError) as e:
    health.Check(health_pb2.HealthCheckRequest(service="no_such_model"), timeout=30)
  assert e.value.code() == grpc.StatusCode.NOT_FOUND

  reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
  responses = reflection.ServerReflectionInfo(
      iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=30)
  names = {s.name for r in responses for s in r.list_services_response.service}
  assert {"tensorflow.serving.PredictionService", "tensorflow.serving.ModelService",
          "grpc.health.v1.Health"} <= names


def test_client_library_and_cli(server, capsys):
  with model_client.ModelClient(f"localhost:{server.grpc_port}", timeout=30) as c:
    outputs = c.predict("affine", {"x": X}, version=1)
    np.testing.assert_allclose(outputs["total"], models.affine_expected(X, 1)["total"], rtol=1e-6)
    assert c.status("text") == [{"version": 1, "state": "AVAILABLE", "error": ""}]
    assert c.health("affine") == "SERVING"
    assert c.metadata("text")["trellis_metadata"]["custom_ops"] == ["tensorflow_text"]
  rest = model_client.RestClient(f"http://localhost:{server.rest_port}", timeout=30)
  assert rest.predict("text", instances=["a b"])["predictions"][0]["num_tokens"] == 2

  assert cli.main(["predict", "--model", "affine", "--input", '{"x": [[1, 2, 3]]}',
                          f"--server=localhost:{server.grpc_port}"]) == 0
  printed = json.loads(capsys.readouterr().out)
  np.testing.assert_allclose(printed["y"], models.affine_expected(X[:1], 2)["y"], rtol=1e-6)
  assert cli.main(["status", "--model", "nope", f"--server=localhost:{server.grpc_port}"]) == 1
  assert "NOT_FOUND" in capsys.readouterr().err


def test_metrics_and_structured_logs(server):
  with urllib.request.urlopen(f"http://localhost:{server.rest_port}/metrics", timeout=30) as r:
    text = r.read().decode()
  assert ('trellis_serving_requests_total{api="grpc",code="OK",model="affine",'
          'signature="serving_default",version="2"}') in text
  assert 'trellis_serving_request_latency_seconds_bucket{api="rest"' in text
  assert 'trellis_serving_batch_size_count{model="affine"' in text
  events = [json.loads(line) for line in server.log_path.read_text().splitlines()
            if line.startswith("{")]
  loaded = [e for e in events if e["message"] == "model version available"]
  assert {(e["model"], e["version"]) for e in loaded} == {("affine", 1), ("affine", 2), ("text", 1)}


def test_graceful_shutdown_finishes_in_flight_requests(server):
  """Runs last: SIGTERM while a request waits in its batch; it still gets its answer."""
  result = {}

  def call():
    with contextlib.suppress(Exception), model_client.ModelClient(
        f"localhost:{server.grpc_port}", timeout=30) as c:
      result["outputs"] = c.predict("affine", {"x": X})

  thread = threading.Thread(target=call)
  thread.start()
  time.sleep(0.1)  # the request is now queued for its 200 ms batch window
  server.proc.send_signal(signal.SIGTERM)
  thread.join(timeout=30)
  # One SIGTERM drains and exits 0; `stop()` would send a second one if the process were still
  # tearing down, and during interpreter exit Python's handlers are gone, so that one kills it.
  assert server.proc.wait(timeout=60) == 0
  server.stop()
  np.testing.assert_allclose(result["outputs"]["y"], models.affine_expected(X, 2)["y"], rtol=1e-6)
  assert '"message": "stopped"' in server.log_path.read_text()


def test_bad_flags_say_what_to_do(tmp_path):
  from serving.core import server_main
  with pytest.raises(SystemExit, match="is not a directory"):
    server_main.main([f"--export_root={tmp_path / 'missing'}"])
  with pytest.raises(SystemExit, match="not MODEL:VERSION"):
    server_main.main([f"--export_root={tmp_path}", "--pin", "affine"])
  with contextlib.redirect_stderr(io.StringIO()), pytest.raises(SystemExit):
    server_main.main(["--port=notanumber"])


def test_a_domain_target_serves_those_of_its_models_that_are_exported(export_root, tmp_path):
  # What `bazel run //<domain>:serve` does: default model names, of which only some are exported.
  from serving.core import server_main

  def names(argv, defaults):
    parser = server_main.build_parser(default_model_names=defaults)
    return server_main.options_from_args(parser.parse_args(argv)).model_names

  root = [f"--export_root={export_root}"]
  assert names(root, ["affine", "not_exported_yet"]) == ("affine",)
  # Named on the command line, a model is required: the server waits for it (NOT_SERVING).
  assert names([*root, "--models=affine,not_exported_yet"], ["affine"]) == (
      "affine", "not_exported_yet")
  assert names(root, None) is None  # the plain server: every model found, now or later
  with pytest.raises(SystemExit, match=r"none of this target's models \(a, b\); export one first"):
    names([f"--export_root={tmp_path}"], ["a", "b"])


def test_binds_to_localhost_unless_told_otherwise(export_root):
  from serving.core import server_main

  args = server_main.build_parser().parse_args([f"--export_root={export_root}"])
  assert server_main.options_from_args(args).host == "localhost"
