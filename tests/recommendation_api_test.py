"""The Recommendation API answers what the recsys export answers for the same history.

A user's events go in through `RecordEvents`; `Recommend` for that user (gRPC, then REST) must
return the items the export's own `recommend` signature returns in process for the same
history, padded with `recsys.features.pad_history` (the training feature code) and asked at
the same request time. The server is the real one (`serving.recommendation.server_main`, its
own process) on the shared export root.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import timestamp_pb2

from common.export import publish
from recsys import features
from serving.protos.trellis.serving.v1 import recommendation_service_pb2 as pb
from serving.protos.trellis.serving.v1 import recommendation_service_pb2_grpc as pb_grpc
from tests import model_server, raw_inputs

K = 5


@pytest.fixture(scope="module")
def server(export_root, recsys, world_dir, tmp_path_factory):
  logs = tmp_path_factory.mktemp("recommendation")
  proc = model_server.ServerProcess(
      "serving.recommendation.server_main", export_root, logs / "server.log",
      f"--models={recsys.name}", f"--recsys_model={recsys.name}",
      f"--items_csv={world_dir / 'items.csv'}", f"--history_db={logs / 'history.sqlite'}")
  yield proc
  assert proc.stop() == 0


@pytest.fixture(scope="module")
def in_process_recommend(recsys):
  recommend = publish.load(str(recsys.export_dir)).signatures["recommend"]
  max_history = recsys.extra["config"].model.max_history

  def call(user_id: str, item_ids: list[str], times: list[int], now: int) -> tuple[list[str], np.ndarray]:
    history_ids, history_times = features.pad_history(item_ids, times, max_history)
    out = recommend(user_id=tf.constant([user_id]), history_ids=tf.constant(history_ids[None, :]),
                    history_times=tf.constant(history_times[None, :]),
                    timestamp=tf.constant([now], tf.int64), k=tf.constant(K))
    return out["item_ids"].numpy()[0].astype(str).tolist(), out["scores"].numpy()[0]

  return call


def test_record_events_then_recommend_equals_the_export(server, world_dir, in_process_recommend):
  _, item_ids, times = raw_inputs.recent_items(world_dir, users=1, events=6)[0]
  user = "integration_user_1"  # a user the server has never seen: its history is only these events
  stub = pb_grpc.RecommendationServiceStub(server.channel)
  recorded = stub.RecordEvents(pb.RecordEventsRequest(events=[
      pb.Event(user_id=user, item_id=i, timestamp=timestamp_pb2.Timestamp(seconds=t))
      for i, t in zip(item_ids, times, strict=True)]), timeout=model_server.TIMEOUT)
  assert recorded.accepted == len(item_ids)

  now = times[-1] + 3600
  response = stub.Recommend(pb.RecommendRequest(user_id=user, k=K, request_time=now),
                            timeout=model_server.TIMEOUT)
  expected_ids, expected_scores = in_process_recommend(user, item_ids, times, now)
  assert list(response.history_item_ids) == item_ids
  assert [i.item_id for i in response.items] == expected_ids
  np.testing.assert_allclose([i.score for i in response.items], expected_scores, rtol=1e-5, atol=1e-6)
  assert not set(expected_ids) & set(item_ids)  # what the user already has is not offered again
  assert all(i.category for i in response.items)  # attributes joined from --items_csv

  rest = server.rest("/v1/recommend", {"user_id": user, "k": K, "request_time": now})
  assert [i["item_id"] for i in rest["items"]] == expected_ids


def test_more_events_change_the_history_the_model_sees(server, recsys, world_dir,
                                                       in_process_recommend):
  (_, first, first_times), (_, second, second_times) = raw_inputs.recent_items(world_dir, users=2)
  user = "integration_user_2"
  server.rest("/v1/events", {"events": [
      {"user_id": user, "item_id": i, "timestamp": _rfc3339(t)}
      for i, t in zip(first, first_times, strict=True)]})
  # Later events are appended after the stored ones, oldest first, as pad_history expects.
  later = [t - min(second_times) + max(first_times) + 60 for t in second_times]
  now = max(later) + 3600
  before = server.rest("/v1/recommend", {"user_id": user, "k": K, "request_time": now})
  assert [i["item_id"] for i in before["items"]] == in_process_recommend(user, first, first_times, now)[0]

  stub = pb_grpc.RecommendationServiceStub(server.channel)
  stub.RecordEvents(pb.RecordEventsRequest(events=[
      pb.Event(user_id=user, item_id=i, timestamp=timestamp_pb2.Timestamp(seconds=t))
      for i, t in zip(second, later, strict=True)]), timeout=model_server.TIMEOUT)
  after = stub.Recommend(pb.RecommendRequest(user_id=user, k=K, request_time=now),
                         timeout=model_server.TIMEOUT)
  max_history = recsys.extra["config"].model.max_history
  assert list(after.history_item_ids) == (first + second)[-max_history:]
  assert [i.item_id for i in after.items] == in_process_recommend(
      user, first + second, first_times + later, now)[0]


def _rfc3339(seconds: int) -> str:
  """google.protobuf.Timestamp's JSON form."""
  stamp = timestamp_pb2.Timestamp(seconds=seconds)
  return stamp.ToJsonString()
