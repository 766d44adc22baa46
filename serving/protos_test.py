"""The checked-in generated protos match a fresh grpcio-tools compile."""

import pathlib

from serving.protos import generate
from serving.protos.trellis.serving.v1 import (
    recommendation_service_pb2 as pb,
)
from serving.protos.trellis.serving.v1 import (
    recommendation_service_pb2_grpc as pb_grpc,
)


def _source_root() -> pathlib.Path:
  # Under Bazel the .proto files are runfiles next to this file; generated
  # modules are sources there too, so the same tree works in both cases.
  return pathlib.Path(__file__).resolve().parents[1]


def test_generated_modules_are_fresh():
  stale = generate.stale_files(_source_root())
  assert not stale, f"stale generated protos {stale}: run `bazel run //serving:gen_protos`"


def test_recommendation_service_contract():
  service = pb.DESCRIPTOR.services_by_name["RecommendationService"]
  assert service.full_name == "trellis.serving.v1.RecommendationService"
  assert sorted(m.name for m in service.methods) == [
      "Rank", "Recommend", "RecordEvents", "SimilarItems", "StreamEvents"]
  assert hasattr(pb_grpc, "RecommendationServiceStub")
  request = pb.RecommendRequest(user_id="u1", recent_item_ids=["i1", "i2"], k=10)
  assert pb.RecommendRequest.FromString(request.SerializeToString()) == request
