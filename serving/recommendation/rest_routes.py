"""REST/JSON for the Recommendation API on the serving core's REST front.

    POST /v1/recommend       RecommendRequest as JSON      -> RecommendResponse
    POST /v1/similar_items   SimilarItemsRequest            -> SimilarItemsResponse
    POST /v1/rank            RankRequest                    -> RankResponse
    POST /v1/events          RecordEventsRequest            -> RecordEventsResponse
    GET  /v1/recommend/status  per-version catalogue size, index kind and faiss recall

Bodies are the protos' canonical JSON mapping (`{"user_id": "u1", "k": 10}`; camelCase
names are accepted too), so REST and gRPC cannot disagree on fields. Every way a body can
fail to decode (not UTF-8, not JSON, nested too deeply, a field of the wrong type, a lone
surrogate in a string) is a 400 that names the problem, never a 500.
"""

from __future__ import annotations

import json

from google.protobuf import json_format

from serving.core import errors
from serving.protos.trellis.serving.v1 import recommendation_service_pb2 as pb
from serving.recommendation.recommender import Recommender


def parse_request(raw: bytes, request_type):
  """The request message of a JSON body; any decoding problem is INVALID_ARGUMENT (400)."""
  name = request_type.DESCRIPTOR.name
  try:
    text = raw.decode("utf-8") if raw else "{}"
  except UnicodeDecodeError as e:
    raise errors.invalid_argument(
        f"request body is not UTF-8: byte {e.start} is {raw[e.start:e.start + 1]!r}; send the "
        f"{name} as JSON encoded in UTF-8 (see serving/recommendation/API.md)") from None
  try:
    # ParseError names the field; a lone surrogate ("\ud800") in a string field is a
    # UnicodeEncodeError from protobuf and 100k nested "[" a RecursionError from json.
    return json_format.Parse(text, request_type())
  except (json_format.ParseError, UnicodeError, RecursionError, ValueError, TypeError) as e:
    reason = ("nested too deeply" if isinstance(e, RecursionError)
              else str(e).encode("utf-8", "backslashreplace").decode())
    raise errors.invalid_argument(
        f"request body is not a valid {name} JSON: {reason} "
        "(see serving/recommendation/API.md)") from None


def _json_handler(request_type, method):
  def handle(path: str, raw: bytes):
    request = parse_request(raw, request_type)
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
