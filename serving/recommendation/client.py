"""Python client for the Recommendation API (gRPC).

    from serving.recommendation.client import RecommendationClient
    with RecommendationClient("localhost:8500") as c:
      r = c.recommend(user_id="user_00007", k=10, categories=["books"], max_price=30)
      [(i.item_id, i.score) for i in r.items], r.model.version
      c.record_events([("user_00007", "item_00042", 1700000000)])
      c.stream_events(batches)  # an iterable of event lists, over one StreamEvents stream
      c.similar_items(item_id="item_00042", k=5)
      c.rank(["item_00001", "item_00002"], user_id="user_00007")

Failures raise `serving.core.errors.ServingError` with the server's status and message.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from google.protobuf import timestamp_pb2

from serving.clients.grpc_client import GrpcClient
from serving.protos.trellis.serving.v1 import recommendation_service_pb2 as pb
from serving.protos.trellis.serving.v1 import recommendation_service_pb2_grpc as pb_grpc


class RecommendationClient(GrpcClient):
  """Args: target "host:port"; token: bearer token if the server checks one; root_certificates:
  PEM bytes of the CA, to use TLS; timeout: per-call deadline in seconds (`serving.clients.
  grpc_client.GrpcClient` holds the channel)."""

  def __init__(self, target: str = "localhost:8500", **options):
    super().__init__(target, **options)
    self._stub = pb_grpc.RecommendationServiceStub(self.channel)

  @staticmethod
  def _model(version: int, label: str) -> pb.ModelRef:
    return pb.ModelRef(version=version, version_label=label)

  def recommend(self, *, user_id: str = "", recent_item_ids: Sequence[str] = (), k: int = 10,
                exclude_item_ids: Sequence[str] = (), categories: Sequence[str] = (),
                min_price: float | None = None, max_price: float | None = None,
                mmr_lambda: float = 0.0, max_per_category: int = 0, rerank: bool = False,
                include_seen: bool = False, request_time: int | None = None, version: int = 0,
                label: str = "") -> pb.RecommendResponse:
    request = pb.RecommendRequest(
        model=self._model(version, label), user_id=user_id, recent_item_ids=list(recent_item_ids),
        k=k, exclude_item_ids=list(exclude_item_ids), rerank=rerank, include_seen=include_seen,
        diversity=pb.Diversity(mmr_lambda=mmr_lambda, max_per_category=max_per_category),
        request_time=request_time)
    if categories or min_price is not None or max_price is not None:
      request.filter.categories.extend(categories)
      if min_price is not None:
        request.filter.min_price = min_price
      if max_price is not None:
        request.filter.max_price = max_price
    return self.call(self._stub.Recommend, request)

  def similar_items(self, *, item_id: str = "", k: int = 10, title: str = "", description: str = "",
                    image: bytes = b"", exclude_item_ids: Sequence[str] = ()) -> pb.SimilarItemsResponse:
    request = pb.SimilarItemsRequest(item_id=item_id, k=k, exclude_item_ids=list(exclude_item_ids))
    if title or description or image:
      request.content.CopyFrom(pb.ItemContent(title=title, description=description, image=image))
    return self.call(self._stub.SimilarItems, request)

  def rank(self, candidate_item_ids: Sequence[str], *, user_id: str = "",
           recent_item_ids: Sequence[str] = (), request_time: int | None = None) -> pb.RankResponse:
    return self.call(self._stub.Rank, pb.RankRequest(
        user_id=user_id, recent_item_ids=list(recent_item_ids),
        candidate_item_ids=list(candidate_item_ids), request_time=request_time))

  def record_events(self, events: Iterable[tuple], event_type: str = "") -> int:
    """events: (user_id, item_id[, unix_seconds[, rating]]) tuples; time defaults to now."""
    return self.call(self._stub.RecordEvents, pb.RecordEventsRequest(
        events=[_event(e, event_type) for e in events])).accepted

  def stream_events(self, batches: Iterable[Iterable[tuple]], event_type: str = "") -> int:
    """Sends batches of events (each as `record_events` takes them) over one StreamEvents stream.

    Batches are sent as the iterable yields them (it may be a generator fed by a queue)
    and the server stores each as it arrives, so the next Recommend sees it before the
    stream ends. Returns how many events were stored. A malformed batch ends the stream
    with the server's INVALID_ARGUMENT (as a `ServingError`): the batches before it stay
    stored, none of its events are. `timeout` bounds the whole stream.
    """
    requests = (pb.RecordEventsRequest(events=[_event(e, event_type) for e in batch])
                for batch in batches)
    return self.call(self._stub.StreamEvents, requests).accepted


def _event(row: tuple, event_type: str) -> pb.Event:
  user_id, item_id, *rest = row
  seconds = int(rest[0]) if rest else int(time.time())
  event = pb.Event(user_id=user_id, item_id=item_id, event_type=event_type,
                   timestamp=timestamp_pb2.Timestamp(seconds=seconds))
  if len(rest) > 1 and rest[1] is not None:
    event.rating = float(rest[1])
  return event
