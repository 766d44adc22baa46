"""The gRPC RecommendationService: wire adapter over `Recommender`."""

from __future__ import annotations

from serving.core.grpc_errors import handle_errors
from serving.protos.trellis.serving.v1 import recommendation_service_pb2 as pb
from serving.protos.trellis.serving.v1 import recommendation_service_pb2_grpc as pb_grpc
from serving.recommendation import rest_routes
from serving.recommendation.recommender import Recommender


class RecommendationServicer(pb_grpc.RecommendationServiceServicer):
  """Each RPC runs in a gRPC handler thread; errors become statuses (handle_errors)."""

  def __init__(self, recommender: Recommender):
    self.recommender = recommender

  @handle_errors
  def Recommend(self, request, context):  # noqa: N802 -- gRPC method name
    return self.recommender.recommend(request)

  @handle_errors
  def SimilarItems(self, request, context):  # noqa: N802 -- gRPC method name
    return self.recommender.similar_items(request)

  @handle_errors
  def Rank(self, request, context):  # noqa: N802 -- gRPC method name
    return self.recommender.rank(request)

  @handle_errors
  def RecordEvents(self, request, context):  # noqa: N802 -- gRPC method name
    return self.recommender.record_events(request)

  @handle_errors
  def StreamEvents(self, request_iterator, context):  # noqa: N802 -- gRPC method name
    accepted = 0
    for request in request_iterator:  # each batch is stored as it arrives
      accepted += self.recommender.record_events(request).accepted
    return pb.RecordEventsResponse(accepted=accepted)


def mount(server, recommender: Recommender) -> None:
  """Adds the service (gRPC and REST) to a `serving.core.server.ModelServer` before `start`."""
  server.add_grpc_service(pb_grpc.add_RecommendationServiceServicer_to_server,
                          RecommendationServicer(recommender),
                          pb.DESCRIPTOR.services_by_name["RecommendationService"].full_name)
  if server.rest is not None:
    rest_routes.add_routes(server.rest, recommender)
