"""The one error type a request can fail with, mapped to gRPC and HTTP codes.

Every failure a client can cause is raised as `ServingError(code, message)` where
the message says what was wrong and what to do. The gRPC front aborts with the
code; the REST front maps it to the HTTP status TensorFlow Serving uses and a
`{"error": message}` body.
"""

import grpc

_HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


class ServingError(Exception):
  """A request failure with its gRPC status code and a user-facing message."""

  def __init__(self, code: grpc.StatusCode, message: str):
    super().__init__(message)
    self.code = code
    self.message = message

  @property
  def http_status(self) -> int:
    return _HTTP_STATUS.get(self.code, 500)


def not_found(message: str) -> ServingError:
  return ServingError(grpc.StatusCode.NOT_FOUND, message)


def invalid_argument(message: str) -> ServingError:
  return ServingError(grpc.StatusCode.INVALID_ARGUMENT, message)


def resource_exhausted(message: str) -> ServingError:
  return ServingError(grpc.StatusCode.RESOURCE_EXHAUSTED, message)


def deadline_exceeded(message: str) -> ServingError:
  return ServingError(grpc.StatusCode.DEADLINE_EXCEEDED, message)


def unavailable(message: str) -> ServingError:
  return ServingError(grpc.StatusCode.UNAVAILABLE, message)
