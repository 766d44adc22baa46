"""GrpcClient: the token on every call, the default deadline, failures as ServingError."""

import concurrent.futures
import time

import grpc
import pytest

from serving.clients.grpc_client import GrpcClient
from serving.core.errors import ServingError

_IDENTITY = (lambda b: b, lambda b: b)  # raw bytes in and out: no protos needed


def _handler(request: bytes, context: grpc.ServicerContext) -> bytes:
  if request == b"fail":
    context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the request says fail")
  if request == b"slow":
    time.sleep(2)
  return dict(context.invocation_metadata()).get("authorization", "no token").encode()


@pytest.fixture(scope="module")
def target():
  server = grpc.server(concurrent.futures.ThreadPoolExecutor(2), handlers=[
      grpc.method_handlers_generic_handler("test.Echo", {"Call": grpc.unary_unary_rpc_method_handler(
          _handler, request_deserializer=_IDENTITY[0], response_serializer=_IDENTITY[1])})])
  port = server.add_insecure_port("localhost:0")
  server.start()
  yield f"localhost:{port}"
  server.stop(grace=None)


def _method(client: GrpcClient):
  return client.channel.unary_unary("/test.Echo/Call", request_serializer=_IDENTITY[0],
                                    response_deserializer=_IDENTITY[1])


def test_every_call_carries_the_bearer_token(target):
  with GrpcClient(target, token="s3cret") as client:
    assert client.call(_method(client), b"hi") == b"Bearer s3cret"
  with GrpcClient(target) as client:
    assert client.call(_method(client), b"hi") == b"no token"


def test_a_failed_call_raises_serving_error_with_the_servers_status_and_message(target):
  with GrpcClient(target) as client, pytest.raises(ServingError) as e:
    client.call(_method(client), b"fail")
  assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
  assert "the request says fail" in str(e.value)


def test_the_default_deadline_applies_and_a_call_may_override_it(target):
  with GrpcClient(target, timeout=0.2) as client:
    with pytest.raises(ServingError) as e:
      client.call(_method(client), b"slow")
    assert e.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert client.call(_method(client), b"slow", timeout=10) == b"no token"
