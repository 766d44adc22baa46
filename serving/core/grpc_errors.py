"""Turns `ServingError`s raised by a gRPC handler into a status the client sees."""

import functools
import logging

import grpc

from serving.core import errors

log = logging.getLogger(__name__)


def handle_errors(method):
  """Decorates a servicer method: ServingError -> its status; anything else -> INTERNAL."""

  @functools.wraps(method)
  def wrapper(self, request, context):
    try:
      return method(self, request, context)
    except errors.ServingError as e:
      context.abort(e.code, e.message)
    except Exception as e:  # a server bug must still answer the client
      if isinstance(e, grpc.RpcError) or context.code() is not None:
        raise  # context.abort() already set the status
      log.exception("internal error in %s", method.__name__)
      context.abort(grpc.StatusCode.INTERNAL, f"internal server error: {type(e).__name__}: {e}")

  return wrapper
