"""Each domain's `serve` target, started as users start it, serves that domain's exports only.

`bazel run //vision:serve -- --export_root=...` is `python -m vision.serve`: the serving core
with the domain's model names as defaults. On the shared export root every domain published
into, each target must come up SERVING with its own demo model and not load the others'; on a
root holding none of its models it must refuse to start with a message naming them.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc

import serving
from tests import model_server

DOMAINS = {  # serve module -> the conftest fixture of the demo model it must serve
    "vision.serve": "vision",
    "sequences.text.serve": "text",
    "sequences.timeseries.serve": "timeseries",
    "recsys.serve": "recsys",
}


def _status(channel, name: str):
  request = get_model_status_pb2.GetModelStatusRequest()
  request.model_spec.name = name
  stub = model_service_pb2_grpc.ModelServiceStub(channel)
  return stub.GetModelStatus(request, timeout=model_server.TIMEOUT).model_version_status


@pytest.mark.parametrize("module", sorted(DOMAINS))
def test_domain_serve_target_serves_its_own_exports(module, request, export_root, tmp_path):
  trained = {fixture: request.getfixturevalue(fixture) for fixture in DOMAINS.values()}
  own = trained[DOMAINS[module]]
  proc = model_server.ServerProcess(module, export_root, tmp_path / "server.log")
  try:
    health = health_pb2_grpc.HealthStub(proc.channel)
    for service in ("", own.name):  # overall, and the model's own entry
      answer = health.Check(health_pb2.HealthCheckRequest(service=service),
                            timeout=model_server.TIMEOUT)
      assert answer.status == health_pb2.HealthCheckResponse.SERVING, service
    available = get_model_status_pb2.ModelVersionStatus.AVAILABLE
    assert [(s.version, s.state) for s in _status(proc.channel, own.name)] == [
        (own.version, available)]
    for other in trained.values():
      if other.name != own.name:
        with pytest.raises(grpc.RpcError) as error:
          _status(proc.channel, other.name)
        assert error.value.code() == grpc.StatusCode.NOT_FOUND, other.name
  finally:
    assert proc.stop() == 0


def test_domain_serve_target_refuses_a_root_without_its_models(tmp_path):
  (tmp_path / "someone_elses_model" / "1").mkdir(parents=True)
  repo_root = pathlib.Path(serving.__file__).resolve().parents[1]
  result = subprocess.run([sys.executable, "-m", "vision.serve", f"--export_root={tmp_path}",
                           "--port=0", "--rest_port=0"], capture_output=True, text=True,
                          timeout=model_server.TIMEOUT, cwd=repo_root,
                          env=dict(os.environ, PYTHONPATH=str(repo_root)))
  assert result.returncode != 0
  assert "holds none of this target's models (vision_resnet20, vision_digits_resnet20)" in (
      result.stderr)
