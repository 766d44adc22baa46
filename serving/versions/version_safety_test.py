"""Versions through the real server: a bad version name changes nothing; a ram:// root serves.

The gRPC calls a TF Serving client makes (Predict, GetModelMetadata, GetModelStatus)
keep answering after a version folder whose name is not an int64 appears, and a
server whose export root is on a non-local filesystem (TensorFlow's `ram://`)
loads and answers like one on a local disk.
"""

import pathlib

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import (
  get_model_metadata_pb2,
  get_model_status_pb2,
  model_service_pb2_grpc,
  predict_pb2,
  prediction_service_pb2_grpc,
)

from serving.core.server import ModelServer, ServerOptions
from serving.testing import models


def _copy_tree(src: pathlib.Path, dst: str) -> None:
  for f in sorted(src.rglob("*")):
    if f.is_file():
      target = f"{dst}/{f.relative_to(src).as_posix()}"
      tf.io.gfile.makedirs(target.rsplit("/", 1)[0])
      tf.io.gfile.copy(str(f), target, overwrite=True)


def _calls(port: int) -> tuple[int, float, list[str], list[tuple[int, int]]]:
  """(version and answer of Predict, metadata's signatures, status (version, state)s)."""
  channel = grpc.insecure_channel(f"localhost:{port}")
  predict = prediction_service_pb2_grpc.PredictionServiceStub(channel)
  request = predict_pb2.PredictRequest()
  request.model_spec.name = "affine"
  request.inputs["x"].CopyFrom(tf.make_tensor_proto(np.ones((1, 3), np.float32)))
  response = predict.Predict(request, timeout=30)
  meta_request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
  meta_request.model_spec.name = "affine"
  meta = predict.GetModelMetadata(meta_request, timeout=30)
  sig_map = get_model_metadata_pb2.SignatureDefMap()
  meta.metadata["signature_def"].Unpack(sig_map)
  status_request = get_model_status_pb2.GetModelStatusRequest()
  status_request.model_spec.name = "affine"
  status = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(status_request, timeout=30)
  channel.close()
  return (response.model_spec.version.value,
          float(tf.make_ndarray(response.outputs["total"])[0]), sorted(sig_map.signature_def),
          [(s.version, s.state) for s in status.model_version_status])


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> pathlib.Path:
  return models.publish_affine(tmp_path_factory.mktemp("exports"), 2)


def test_a_version_name_over_int64_leaves_every_grpc_call_working(export, tmp_path):
  root = tmp_path / "root"
  _copy_tree(export, str(root / "affine" / "2"))
  server = ModelServer(ServerOptions(root, port=0, rest_port=None, poll_seconds=0)).start()
  try:
    before = _calls(server.port)
    _copy_tree(export, str(root / "affine" / "20261204225400123456"))
    server.watcher.poll_once()
    after = _calls(server.port)
  finally:
    server.stop(grace=1)
  available = get_model_status_pb2.ModelVersionStatus.AVAILABLE
  assert before == after
  assert before[:2] == (2, 6.0) and "serving_default" in before[2] and before[3] == [(2, available)]


def test_the_server_loads_and_answers_from_a_ram_filesystem_root(export):
  root = "ram://version_safety_test/exports"
  _copy_tree(export, f"{root}/affine/2")
  server = ModelServer(ServerOptions(root, port=0, rest_port=None, poll_seconds=0)).start()
  try:
    version, total, signatures, _ = _calls(server.port)
  finally:
    server.stop(grace=1)
  assert (version, total) == (2, 6.0) and "serving_default" in signatures
