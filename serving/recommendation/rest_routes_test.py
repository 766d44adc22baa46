"""Recommendation API REST bodies: every decoding problem is a 400 naming it, never a 500."""

import pytest

from serving.core import errors
from serving.protos.trellis.serving.v1 import recommendation_service_pb2 as pb
from serving.recommendation import rest_routes


class _Routes:
  """Collects the routes `add_routes` mounts, as the REST front would."""

  def __init__(self):
    self.routes = {}

  def add_route(self, method, path, handler):
    self.routes[(method, path)] = handler


class _Recommender:
  """Answers every request with an empty response, so only decoding is under test."""

  def recommend(self, request, api="grpc"):
    return pb.RecommendResponse()

  def similar_items(self, request, api="grpc"):
    return pb.SimilarItemsResponse()

  def rank(self, request, api="grpc"):
    return pb.RankResponse()

  def record_events(self, request):
    return pb.RecordEventsResponse(accepted=len(request.events))

  def status(self):
    return {}


@pytest.fixture
def routes():
  r = _Routes()
  rest_routes.add_routes(r, _Recommender())
  return r.routes


@pytest.mark.parametrize("path", ["/v1/recommend", "/v1/similar_items", "/v1/rank", "/v1/events"])
@pytest.mark.parametrize("body, message", [
    (b'{"user_id": "u\xff\xfe1"}', "not UTF-8: byte 14"),
    (b"\xff", "not UTF-8: byte 0"),
    (b"[" * 100_000, "maximum recursion depth"),
    (b'{"user_id": [', "not a valid"),
], ids=["non_utf8", "non_utf8_first_byte", "100k_nesting", "truncated"])
def test_undecodable_bodies_are_400(routes, path, body, message):
  with pytest.raises(errors.ServingError) as e:
    routes[("POST", path)](path, body)
  assert e.value.http_status == 400
  assert message in e.value.message and "API.md" in e.value.message


def test_lone_surrogate_names_the_field(routes):
  with pytest.raises(errors.ServingError) as e:
    routes[("POST", "/v1/recommend")]("/v1/recommend", b'{"user_id": "\\ud800abc"}')
  assert e.value.http_status == 400 and "user_id" in e.value.message


def test_valid_body_is_answered(routes):
  status, content_type, body = routes[("POST", "/v1/events")](
      "/v1/events", b'{"events": [{"user_id": "u1", "item_id": "i1"}]}')
  assert (status, content_type) == (200, "application/json")
  assert b'"accepted": 1' in body
