"""REST/JSON for the Recommendation API on the serving core's REST front.

    POST /v1/recommend       RecommendRequest as JSON      -> RecommendResponse
    POST /v1/similar_items   SimilarItemsRequest            -> SimilarItemsResponse
    POST /v1/rank            RankRequest                    -> RankResponse
    POST /v1/events          RecordEventsRequest            -> RecordEventsResponse
    GET  /v1/recommend/status  per-version catalogue size, index kind and faiss recall

Bodies are the protos' canonical JSON mapping (`{"user_id": "u1", "k": 10}`; camelCase
names are accepted too), so REST and gRPC cannot disagree on fields.
"""

from __future__ import annotations

import json

from google.protobuf import json_format

from serving import errors
from serving.protos.trellis.serving.v1 import recommendation_service_pb2 as pb
from serving.recommendation.recommender import Recommender


def _json_handler(request_type, method):
  def handle(path: str, raw: bytes):
    try:
      request = json_format.Parse(raw or b"{}", request_type())
    except json_format.ParseError as e:
      raise errors.invalid_argument(
          f"request body is not a valid {request_type.DESCRIPTOR.name} JSON: {e} "
          "(see serving/recommendation/API.md)") from e
    response = method(request, api="rest") if method.__name__ != "record_events" else method(request)
    body = json_format.MessageToDict(response, preserving_proto_field_name=True,
                                     always_print_fields_with_no_presence=True)
    return 200, "application/json", json.dumps(body).encode()
  return handle


def add_routes(rest, recommender: Recommender) -> None:
  rest.add_route("POST", "/v1/recommend", _json_handler(pb.RecommendRequest, recommender.recommend))
  rest.add_route("POST", "/v1/similar_items",
                 _json_handler(pb.SimilarItemsRequest, recommender.similar_items))
  rest.add_route("POST", "/v1/rank", _json_handler(pb.RankRequest, recommender.rank))
  rest.add_route("POST", "/v1/events", _json_handler(pb.RecordEventsRequest, recommender.record_events))
  rest.add_route("GET", "/v1/recommend/status", lambda path, raw: (
      200, "application/json", json.dumps({str(k): v for k, v in recommender.status().items()}).encode()))
