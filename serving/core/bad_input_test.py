"""Requests a client gets wrong: each fails with the right code and a message that names the fix.

After every bad request the server must keep answering good ones. A second
server checks the bearer token, TLS and the concurrency bound.
"""

import json
import ssl
import threading
import time
import urllib.error
import urllib.request

import grpc
import numpy as np
import pytest
import tensorflow as tf
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from common.testing import tls
from serving.clients import model_client
from serving.core.inference import BatchingOptions
from serving.core.server import ModelServer, ServerOptions
from serving.testing import models

MAX_REQUEST_BYTES = 64 * 1024
X = np.ones((2, 3), np.float32)


@pytest.fixture(scope="module")
def export_root(tmp_path_factory):
  root = tmp_path_factory.mktemp("exports")
  models.publish_affine(root, 1)
  return root


@pytest.fixture(scope="module")
def server(export_root):
  server = ModelServer(ServerOptions(export_root, port=0, rest_port=0, poll_seconds=0,
                                     max_request_bytes=MAX_REQUEST_BYTES)).start()
  yield server
  server.stop(grace=5)


@pytest.fixture(scope="module")
def stub(server):
  with grpc.insecure_channel(f"localhost:{server.port}") as channel:
    yield prediction_service_pb2_grpc.PredictionServiceStub(channel)


def _request(model="affine", version=None, signature="", **inputs):
  request = predict_pb2.PredictRequest()
  request.model_spec.name = model
  request.model_spec.signature_name = signature
  if version is not None:
    request.model_spec.version.value = version
  for key, value in (inputs or {"x": X}).items():
    request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
  return request


def _assert_still_serving(stub):
  response = stub.Predict(_request(), timeout=30)
  np.testing.assert_allclose(tf.make_ndarray(response.outputs["total"]), [3.0, 3.0])


def _label_request():
  request = _request()
  request.model_spec.version_label = "stable"
  return request


def _corrupt_tensor_request():
  request = _request()
  request.inputs["x"].tensor_content = b"\x00" * 5  # 5 bytes cannot be 2×3 float32
  return request


def _lying_shape_request():
  """67 bytes whose shape claims [200000, 28, 10] floats (224 MB if padded out, as TF does)."""
  request = _request()
  request.inputs["x"].ClearField("tensor_content")
  request.inputs["x"].ClearField("tensor_shape")
  request.inputs["x"].float_val.extend([1.0, 2.0, 3.0])
  for size in (200000, 28, 10):
    request.inputs["x"].tensor_shape.dim.add(size=size)
  return request


@pytest.mark.parametrize("make_request, code, message", [
    (lambda: _request(model="nope"), grpc.StatusCode.NOT_FOUND,
     "model 'nope' is not served; served models: ['affine']"),
    (lambda: _request(version=7), grpc.StatusCode.NOT_FOUND,
     "model 'affine' version 7 is not available; available versions: [1]"),
    (lambda: _request(signature="embed"), grpc.StatusCode.NOT_FOUND,
     "has no signature 'embed'; its signatures are ['classify', 'scaled', 'serving_default']"),
    (lambda: _request(x=X.astype(np.float64)), grpc.StatusCode.INVALID_ARGUMENT,
     "input 'x' has dtype float64 but the signature expects float32"),
    (lambda: _request(x=np.ones((2, 4), np.float32)), grpc.StatusCode.INVALID_ARGUMENT,
     "input 'x' has shape (2, 4) but the signature expects (None, 3)"),
    (lambda: _request(y=X), grpc.StatusCode.INVALID_ARGUMENT,
     "missing input(s) ['x'] and unknown input(s) ['y']"),
    (lambda: _request(signature="scaled", factor=np.ones(2, np.float32)),
     grpc.StatusCode.INVALID_ARGUMENT, "input 'factor' has shape (2,) but the signature expects ()"),
    (_label_request, grpc.StatusCode.INVALID_ARGUMENT, "version labels are not supported"),
    (_corrupt_tensor_request, grpc.StatusCode.INVALID_ARGUMENT, "input 'x': tensor_content has 5 bytes"),
    (_lying_shape_request, grpc.StatusCode.INVALID_ARGUMENT, "float_val has 3 value(s)"),
    (lambda: _request(x=np.ones((MAX_REQUEST_BYTES // 12 + 1, 3), np.float32)),
     grpc.StatusCode.RESOURCE_EXHAUSTED, "Received message larger than max"),
])
def test_bad_grpc_requests(stub, make_request, code, message):
  with pytest.raises(grpc.RpcError) as e:
    stub.Predict(make_request(), timeout=30)
  assert e.value.code() == code
  assert message in e.value.details()
  _assert_still_serving(stub)


def test_unknown_output_filter(stub):
  request = _request()
  request.output_filter.append("logits")
  with pytest.raises(grpc.RpcError) as e:
    stub.Predict(request, timeout=30)
  assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
  assert "has no output(s) ['logits']; its outputs are ['total', 'y']" in e.value.details()


def _rest(server, path, data: bytes | None = None, headers=None):
  request = urllib.request.Request(f"http://localhost:{server.rest_port}{path}", data=data,
                                   headers=headers or {})
  try:
    with urllib.request.urlopen(request, timeout=30) as response:
      return response.status, json.loads(response.read())
  except urllib.error.HTTPError as e:
    return e.code, json.loads(e.read())


@pytest.mark.parametrize("path, data, status, message", [
    ("/v1/models/affine:predict", b'{"instances": [[1, 2, 3]', 400, "request body is not valid JSON"),
    ("/v1/models/affine:predict", b'{"rows": []}', 400, "exactly one of \"instances\""),
    ("/v1/models/affine:predict", b'{"instances": [[1, 2]]}', 400,
     "input 'x' has shape (1, 2) but the signature expects (None, 3)"),
    ("/v1/models/affine:predict", b'{"instances": [["a", "b", "c"]]}', 400, "cannot be read as float32"),
    ("/v1/models/nope:predict", b'{"instances": [[1, 2, 3]]}', 404, "model 'nope' is not served"),
    ("/v1/models/affine/versions/9:predict", b'{"instances": [[1, 2, 3]]}', 404,
     "version 9 is not available"),
    ("/v1/models/affine/versions/latest", None, 400, "version 'latest' is not a number"),
    ("/v1/models/affine:regress", b"{}", 501, ":regress is not supported over REST; use :predict"),
    ("/v2/whatever", None, 404, "no route"),
    ("/v1/models/affine:predict", b"[" + b"1," * MAX_REQUEST_BYTES + b"1]", 413,
     "over the server's limit of 65536 (--max_request_bytes)"),
])
def test_bad_rest_requests(server, stub, path, data, status, message):
  code, body = _rest(server, path, data)
  assert code == status
  assert message in body["error"]
  code, body = _rest(server, "/v1/models/affine:predict", b'{"instances": [[1, 1, 1]]}')
  assert code == 200 and body["predictions"][0]["total"] == 3.0
  _assert_still_serving(stub)


def test_errors_are_counted_in_metrics(server):
  with urllib.request.urlopen(f"http://localhost:{server.rest_port}/metrics", timeout=30) as r:
    text = r.read().decode()
  assert 'trellis_serving_errors_total{api="grpc",code="INVALID_ARGUMENT",model="affine"' in text
  assert 'trellis_serving_errors_total{api="rest",code="NOT_FOUND",model="nope"' in text


# --- token, TLS and the concurrency bound -----------------------------------------------------


@pytest.fixture(scope="module")
def secure(export_root, tmp_path_factory):
  cert, key, cert_pem = tls.self_signed(tmp_path_factory.mktemp("tls"))
  # One request at a time, held 300 ms in its batch window, so a second one is over the bound.
  server = ModelServer(ServerOptions(
      export_root, port=0, rest_port=0, poll_seconds=0, bearer_token="s3cret",
      tls_cert=cert, tls_key=key, max_concurrent_requests=1,
      batching=BatchingOptions(enabled=True, batch_timeout=0.3, always_wait=True))).start()
  yield server, cert_pem
  server.stop(grace=5)


def test_bearer_token_over_tls(secure):
  server, cert_pem = secure
  target = f"localhost:{server.port}"
  for token in (None, "wrong"):
    with model_client.ModelClient(target, token=token, root_certificates=cert_pem) as c:
      with pytest.raises(model_client.ServingError) as e:
        c.predict("affine", {"x": X})
      assert e.value.code == grpc.StatusCode.UNAUTHENTICATED
      assert "Bearer <token>" in e.value.message
      assert c.health() == "SERVING"  # health stays open for load balancers
  with model_client.ModelClient(target, token="s3cret", root_certificates=cert_pem) as c:
    np.testing.assert_allclose(c.predict("affine", {"x": X})["total"], [3.0, 3.0])

  context = ssl.create_default_context(cadata=cert_pem.decode())
  url = f"https://localhost:{server.rest_port}/v1/models/affine"
  with pytest.raises(urllib.error.HTTPError) as e:
    urllib.request.urlopen(url, context=context, timeout=30)
  assert e.value.code == 401
  request = urllib.request.Request(url, headers={"Authorization": "Bearer s3cret"})
  with urllib.request.urlopen(request, context=context, timeout=30) as response:
    assert json.loads(response.read())["model_version_status"][0]["state"] == "AVAILABLE"


def test_deadline_is_honoured_while_queued(secure):
  server, cert_pem = secure
  with model_client.ModelClient(f"localhost:{server.port}", token="s3cret",
                          root_certificates=cert_pem) as c:
    with pytest.raises(model_client.ServingError) as e:
      c.predict("affine", {"x": X}, timeout=0.1)  # shorter than the 300 ms batch window
    assert e.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    # The server gave up too (it counted the deadline), and keeps serving.
    deadline = time.monotonic() + 10
    while 'code="DEADLINE_EXCEEDED"' not in server.metrics.exposition()[0].decode():
      assert time.monotonic() < deadline, "server never recorded the expired deadline"
      time.sleep(0.05)
    np.testing.assert_allclose(c.predict("affine", {"x": X})["total"], [3.0, 3.0])


def test_concurrency_bound(secure):
  server, cert_pem = secure
  with model_client.ModelClient(f"localhost:{server.port}", token="s3cret",
                          root_certificates=cert_pem) as c:
    first = {}
    thread = threading.Thread(target=lambda: first.update(c.predict("affine", {"x": X})))
    thread.start()
    time.sleep(0.1)  # the first request now waits in its 300 ms batch window
    with pytest.raises(model_client.ServingError) as e:
      c.predict("affine", {"x": X})
    thread.join()
    assert e.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    np.testing.assert_allclose(first["total"], [3.0, 3.0])
    channel = grpc.secure_channel(f"localhost:{server.port}",
                                  grpc.ssl_channel_credentials(cert_pem))
    status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=30)
    assert status.status == health_pb2.HealthCheckResponse.SERVING
    channel.close()


def test_rest_concurrency_bound_answers_429(secure):
  server, cert_pem = secure
  context = ssl.create_default_context(cadata=cert_pem.decode())

  def post():
    request = urllib.request.Request(
        f"https://localhost:{server.rest_port}/v1/models/affine:predict",
        data=json.dumps({"instances": X.tolist()}).encode(),
        headers={"Authorization": "Bearer s3cret", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
      return json.loads(response.read())

  first = {}
  thread = threading.Thread(target=lambda: first.update(post()))
  thread.start()
  time.sleep(0.1)  # the first request now waits in its 300 ms batch window
  with pytest.raises(urllib.error.HTTPError) as e:
    post()
  thread.join()
  assert e.value.code == 429
  assert "--max_concurrent_requests" in e.value.read().decode()  # says what the limit is
  np.testing.assert_allclose([row["total"] for row in first["predictions"]], [3.0, 3.0])
  assert post()["predictions"][0]["total"] == pytest.approx(3.0)  # and serves once it is free
