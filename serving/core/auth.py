"""Optional bearer-token check for both fronts.

Clients send `authorization: Bearer <token>` (gRPC metadata, or the REST
`Authorization` header). On gRPC, health checks and reflection stay open,
because load balancers and grpcurl probe them without application credentials;
on REST, `/metrics` stays open for Prometheus. The REST front checks the header
before it reads a single body byte, so an unauthenticated client cannot make
the server buffer a large body. Without TLS the token crosses the network in
clear text: `server_main` warns at start when a token is set without
--tls_cert/--tls_key.
"""

import hmac

import grpc

_OPEN_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")

REST_DENIED = "missing or wrong bearer token; send 'Authorization: Bearer <token>'"


def bearer_matches(header: str | None, token: str) -> bool:
  """Whether an `Authorization` header value carries `token` (constant-time compare)."""
  given = (header or "").encode("utf-8", "surrogateescape")
  return hmac.compare_digest(given, f"Bearer {token}".encode())


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
