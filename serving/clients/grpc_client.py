"""The gRPC channel every trellis client opens the same way, as a thin base class.

`ModelClient` (TF Serving's Predict/ModelService) and `RecommendationClient` (the
Recommendation API) differ only in their stubs and requests; how they reach the server is
this class: one channel per client (TLS when CA certificates are given), the bearer token sent
as `authorization` metadata on every call, a default per-call deadline, and a failed call
raised as `ServingError` with the server's status code and message, so a caller handles one
exception type whichever client and method it used. Clients are context managers that close
the channel.
"""

import grpc

from serving.core.errors import ServingError


class GrpcClient:
  """Thin base: the channel, the call metadata and the deadline; subclasses add stubs.

  Args:
    target: "host:port" of the server's gRPC front.
    token: bearer token, if the server checks one.
    root_certificates: PEM bytes of the CA; set to use TLS.
    timeout: default per-call deadline in seconds.
  """

  def __init__(self, target: str = "localhost:8500", *, token: str | None = None,
               root_certificates: bytes | None = None, timeout: float = 10.0):
    if root_certificates is not None:
      self.channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates))
    else:
      self.channel = grpc.insecure_channel(target)
    self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
    self.timeout = timeout

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()

  def close(self) -> None:
    self.channel.close()

  def call(self, method, request, timeout: float | None = None):
    """Calls a stub method (unary or client-streaming) with the token and a deadline.

    Raises:
      ServingError: the call failed; carries the server's status code and message.
    """
    try:
      return method(request, timeout=timeout or self.timeout, metadata=self._metadata)
    except grpc.RpcError as e:
      raise ServingError(e.code(), e.details()) from e
