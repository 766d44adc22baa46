"""Recommendation API request fields through the real gRPC server: bad values are
INVALID_ARGUMENT naming the field, a 1970-01-01 event time or request_time is a real
time (only an absent field means "now", over gRPC and REST), and the server keeps answering.

The REST routes call the same `Recommender` methods, so they share these checks.
"""

import json
import math
import time
import urllib.request

import grpc
import pytest
from google.protobuf import timestamp_pb2

from serving.protos.trellis.serving.v1 import recommendation_service_pb2 as pb
from serving.protos.trellis.serving.v1 import recommendation_service_pb2_grpc as pb_grpc
from serving.recommendation import scoring, server_main, synthetic_export


@pytest.fixture(scope="module")
def server(tmp_path_factory):
  """The running server: (gRPC stub, the catalogue's ids, REST port)."""
  tmp = tmp_path_factory.mktemp("recommend")
  ids = [str(i) for i in synthetic_export.write_export(tmp / "export", 200)]
  running = server_main.start([f"--export_root={tmp / 'export'}", "--port=0", "--rest_port=0",
                               "--poll_seconds=0", f"--history_db={tmp / 'h.sqlite'}"])
  channel = grpc.insecure_channel(f"localhost:{running.server.port}")
  yield pb_grpc.RecommendationServiceStub(channel), ids, running.server.rest_port
  channel.close()
  running.stop()


@pytest.fixture
def served(server):
  return server[:2]


def _recommend(ids, **fields) -> pb.RecommendRequest:
  request = pb.RecommendRequest(recent_item_ids=ids[:2], k=3)
  for name, value in fields.items():
    target, _, leaf = name.rpartition("__")
    setattr(getattr(request, target) if target else request, leaf, value)
  return request


def _event(ids, **fields) -> pb.RecordEventsRequest:
  event = pb.Event(user_id="u1", item_id=ids[0], timestamp=timestamp_pb2.Timestamp(seconds=1))
  for name, value in fields.items():
    if name == "timestamp":
      event.timestamp.CopyFrom(value)
    else:
      setattr(event, name, value)
  return pb.RecordEventsRequest(events=[event])


@pytest.mark.parametrize("make, field", [
    (lambda ids: _recommend(ids, diversity__mmr_lambda=7.0), "diversity.mmr_lambda is 7.0"),
    (lambda ids: _recommend(ids, diversity__mmr_lambda=math.nan), "diversity.mmr_lambda is nan"),
    (lambda ids: _recommend(ids, diversity__mmr_lambda=-0.5), "diversity.mmr_lambda is -0.5"),
    (lambda ids: _recommend(ids, diversity__max_per_category=-1), "diversity.max_per_category"),
    (lambda ids: _recommend(ids, filter__min_price=math.inf), "filter.min_price is inf"),
    (lambda ids: _recommend(ids, filter__max_price=math.nan), "filter.max_price is nan"),
    (lambda ids: _recommend(ids, user_id="u" * 257), "user_id is 257 bytes, over the limit of 256"),
    (lambda ids: _recommend(ids, user_id="u" * 1_000_000), "user_id is 1000000 bytes"),
    (lambda ids: pb.RankRequest(user_id="é" * 200, candidate_item_ids=ids[:2]),
     "user_id is 400 bytes"),
    (lambda ids: pb.RankRequest(recent_item_ids=ids[:1], candidate_item_ids=["i" * 300]),
     "candidate_item_ids[0] is 300 bytes"),
    (lambda ids: pb.SimilarItemsRequest(item_id="i" * 300, k=2), "item_id is 300 bytes"),
    (lambda ids: _event(ids, rating=math.nan), "event 0: rating is nan"),
    (lambda ids: _event(ids, rating=-math.inf), "event 0: rating is -inf"),
    (lambda ids: _event(ids, user_id="u" * 300), "event 0: user_id is 300 bytes"),
    (lambda ids: pb.RecordEventsRequest(events=[pb.Event(user_id="u1", item_id=ids[0])]),
     "event 0: timestamp is missing"),
    (lambda ids: _event(ids, timestamp=timestamp_pb2.Timestamp(seconds=10**12)),
     "event 0: timestamp (1000000000000 s, 0 ns) is outside"),
])
def test_bad_fields_are_invalid_argument_naming_the_field(served, make, field):
  stub, ids = served
  request = make(ids)
  method = {pb.RecommendRequest: stub.Recommend, pb.RankRequest: stub.Rank,
            pb.SimilarItemsRequest: stub.SimilarItems,
            pb.RecordEventsRequest: stub.RecordEvents}[type(request)]
  with pytest.raises(grpc.RpcError) as e:
    method(request, timeout=30)
  assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value.details()
  assert field in e.value.details(), e.value.details()
  assert len(e.value.details()) < 1000  # an oversized id is not echoed back
  assert stub.Recommend(_recommend(ids), timeout=30).items  # still serving


def test_an_event_at_the_unix_epoch_is_a_real_time(served):
  stub, ids = served
  epoch = pb.Event(user_id="epoch-user", item_id=ids[5], timestamp=timestamp_pb2.Timestamp())
  assert stub.RecordEvents(pb.RecordEventsRequest(events=[epoch]), timeout=30).accepted == 1
  response = stub.Recommend(pb.RecommendRequest(user_id="epoch-user", k=3), timeout=30)
  assert list(response.history_item_ids) == [ids[5]]


def test_valid_edge_values_are_accepted(served):
  stub, ids = served
  for mmr in (0.0, 1.0):
    assert stub.Recommend(_recommend(ids, diversity__mmr_lambda=mmr), timeout=30).items
  assert stub.Recommend(_recommend(ids, user_id="u" * 256), timeout=30).items


def _rest(port: int, path: str, body: dict) -> dict:
  request = urllib.request.Request(f"http://localhost:{port}{path}", json.dumps(body).encode(),
                                   {"Content-Type": "application/json"})
  with urllib.request.urlopen(request, timeout=30) as response:
    return json.load(response)


@pytest.fixture
def model_times(monkeypatch):
  """The request times ("now") the Recommender hands the model, one list per call."""
  seen = []
  real = scoring.query_inputs

  def spy(user_ids, histories, times, now):
    seen.append(list(now))
    return real(user_ids, histories, times, now)

  monkeypatch.setattr(scoring, "query_inputs", spy)
  return seen


def test_request_time_zero_is_1970_and_only_absent_is_now(server, model_times):
  stub, ids, rest_port = server
  rank = {"recent_item_ids": ids[:2], "candidate_item_ids": ids[3:5]}
  before = int(time.time())
  stub.Recommend(_recommend(ids, request_time=0), timeout=30)
  stub.Rank(pb.RankRequest(request_time=0, **rank), timeout=30)
  _rest(rest_port, "/v1/recommend", {"recent_item_ids": ids[:2], "k": 3, "request_time": 0})
  _rest(rest_port, "/v1/rank", {**rank, "requestTime": "0"})
  assert model_times == [[0]] * 4  # gRPC Recommend, Rank; REST recommend, rank

  model_times.clear()
  stub.Recommend(_recommend(ids), timeout=30)
  stub.Rank(pb.RankRequest(**rank), timeout=30)
  _rest(rest_port, "/v1/recommend", {"recent_item_ids": ids[:2], "k": 3})
  _rest(rest_port, "/v1/rank", rank)
  assert len(model_times) == 4
  assert all(before <= now <= time.time() for (now,) in model_times), model_times
