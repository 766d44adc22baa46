"""Optional bearer-token check for the gRPC front (the REST front checks its header).

Clients send the metadata `authorization: Bearer <token>`. Health checks and
reflection stay open, because load balancers and grpcurl probe them without
application credentials.
"""

import hmac

import grpc

_OPEN_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")


class BearerTokenInterceptor(grpc.ServerInterceptor):

  def __init__(self, token: str):
    self._expected = f"Bearer {token}".encode()

    def deny(request, context):
      context.abort(grpc.StatusCode.UNAUTHENTICATED,
                    "missing or wrong bearer token; send metadata "
                    "('authorization', 'Bearer <token>')")

    self._deny = deny

  def intercept_service(self, continuation, handler_call_details):
    if handler_call_details.method.startswith(_OPEN_PREFIXES):
      return continuation(handler_call_details)
    given = dict(handler_call_details.invocation_metadata or ()).get("authorization", "")
    if hmac.compare_digest(str(given).encode(), self._expected):
      return continuation(handler_call_details)
    handler = continuation(handler_call_details)
    if handler is None:
      return None
    # Reply with the same streaming shape as the real method.
    if handler.request_streaming or handler.response_streaming:
      return grpc.stream_stream_rpc_method_handler(lambda it, ctx: self._deny(None, ctx))
    return grpc.unary_unary_rpc_method_handler(
        self._deny, request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer)
