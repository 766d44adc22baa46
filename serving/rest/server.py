"""The REST/JSON front: TF Serving's routes (`rest_api.py`) and `/metrics` on aiohttp.

    GET  /v1/models/<name>[/versions/<v>][/metadata]   POST ...:predict   (see rest_api.py)
    GET  /metrics                                      Prometheus text format (no token needed)

aiohttp was chosen over uvicorn+starlette by measurement (serving/README.md,
`bazel run //serving/rest:library_bench`): its C HTTP parser costs less CPU per
request than uvicorn's pure-Python h11 (httptools is not in the lock), and it
starts a deadline for the request head when a connection opens, which uvicorn
does not.

What a client can hold, and for how long, is bounded at its cause:

* One asyncio event loop accepts connections and runs TLS handshakes, so a
  client that connects and sends nothing holds a few KB of memory, not the
  accept path. A handshake must finish within `handshake_seconds`.
* The request head (request line and headers, at most 128 fields of 8 KB) must
  arrive within `header_seconds` of the connection opening or of the previous
  response; after that the connection is closed (slowloris), and so is an idle
  keep-alive connection.
* At most `max_connections` connections are open; the next one is answered 503
  and closed.
* The bearer token and the declared `Content-Length` are checked on the head,
  before any body byte is read: an unauthenticated or oversized request is
  answered 401/413 and its connection closed without reading the body.
  `Content-Length: -1` is not valid HTTP and is refused by the parser (400); a
  chunked body or one without a length is counted as it arrives and cut at
  `max_request_bytes`, and the whole body must arrive within `body_seconds`.
* At most `max_concurrent` requests run at once (429 beyond); each runs the
  model in a worker thread, off the event loop.
"""

import asyncio
import concurrent.futures
import dataclasses
import json
import logging
import socket
import ssl
import threading

from aiohttp import HttpVersion11, web
from aiohttp.http_exceptions import HttpProcessingError

from serving.core import auth
from serving.core.inference import Inference
from serving.rest.routes import Reply, RestApi, RouteHandler, json_reply

log = logging.getLogger(__name__)


class _ClientErrorsAsWarnings(logging.Filter):
  """aiohttp logs a request it cannot parse as an ERROR with a traceback; it is the client's error.

  Such requests (`Content-Length: -1`, a malformed request line, oversized headers) are answered
  400/431 by aiohttp; here they become one-line warnings, so a flood of them cannot bury real
  errors under tracebacks.
  """

  def filter(self, record: logging.LogRecord) -> bool:
    exc = record.exc_info[1] if record.exc_info else None
    if isinstance(exc, HttpProcessingError):
      record.msg, record.args = "%s: %s", (record.getMessage(), " ".join(str(exc).split())[:300])
      record.levelno, record.levelname = logging.WARNING, "WARNING"
      record.exc_info = record.exc_text = None
    return True


_http_log = logging.getLogger(__name__ + ".http")
_http_log.addFilter(_ClientErrorsAsWarnings())


@dataclasses.dataclass(frozen=True)
class RestLimits:
  """Per-connection deadlines and the connection cap of the REST front.

  Attributes:
    header_seconds: time for the request head to arrive, from connection open or the previous
      response (also how long an idle keep-alive connection is kept).
    body_seconds: time for the whole body to arrive once the head is read.
    handshake_seconds: time for a TLS handshake.
    max_connections: open connections (TLS handshakes in progress not counted; they are bounded
      by handshake_seconds).
  """

  header_seconds: float = 10.0
  body_seconds: float = 30.0
  handshake_seconds: float = 10.0
  max_connections: int = 1024


class _TooManyConnections(asyncio.Protocol):
  """Answers a connection over the cap with 503 and closes it, without reading the request."""

  _BODY = json.dumps({"error": "server is at its connection limit; retry with backoff"}).encode()
  _REPLY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(_BODY), _BODY))

  def connection_made(self, transport):
    transport.write(self._REPLY)
    transport.close()


def _response(reply: Reply, *, close: bool = False) -> web.Response:
  response = web.Response(status=reply.status, body=reply.body,
                          headers={"Content-Type": reply.content_type})
  if close:  # the unread body must not be taken for the next request
    response.force_close()
  return response


class RestServer:
  """Serves the REST front from an event loop in a background thread."""

  def __init__(self, inference: Inference, *, host: str, port: int, max_request_bytes: int,
               max_concurrent: int, bearer_token: str | None = None,
               ssl_context: ssl.SSLContext | None = None, limits: RestLimits = RestLimits()):
    self.api = RestApi(inference)
    self._metrics = inference.metrics
    self._token = bearer_token
    self._ssl = ssl_context
    self._max_bytes = max_request_bytes
    self._max_concurrent = max_concurrent
    self._limits = limits
    self._active = 0  # requests past their head; touched only on the event loop
    # Bound here, not in start(), so a taken port fails the constructor as before.
    self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    self._socket.bind((host, port))
    self._socket.listen(256)  # bursts of new connections are not refused
    self._pool = concurrent.futures.ThreadPoolExecutor(max_concurrent, thread_name_prefix="rest")
    self._loop: asyncio.AbstractEventLoop | None = None
    self._stop_requested: asyncio.Event | None = None
    self._grace = 0.0
    self._started = threading.Event()
    self._thread = threading.Thread(target=self._run, name="rest", daemon=True)

  def add_route(self, method: str, path: str, handler: RouteHandler) -> None:
    """Serves `method path` with `handler(path, body) -> (status, content_type, bytes)`.

    For services mounted beside the model API (the Recommendation API). A GET
    path ending in "/" (other than "/") also matches everything under it. The handler runs in a
    worker thread and may raise `errors.ServingError`; auth, size and concurrency limits apply
    as for /v1/models.
    """
    self.api.add_route(method, path, handler)

  @property
  def port(self) -> int:
    return self._socket.getsockname()[1]

  def start(self) -> None:
    self._thread.start()
    self._started.wait()

  def stop(self, grace: float) -> None:
    """Stops accepting connections, then waits up to `grace` s for in-flight requests."""
    if self._loop is not None and self._thread.is_alive():
      self._grace = grace
      self._loop.call_soon_threadsafe(self._stop_requested.set)
      self._thread.join(grace + 10)
    self._pool.shutdown(wait=False)
    self._socket.close()

  # --- the event loop ---------------------------------------------------------------------------

  def _run(self) -> None:
    asyncio.run(self._serve())

  async def _serve(self) -> None:
    self._loop = asyncio.get_running_loop()
    self._stop_requested = asyncio.Event()
    http = web.Server(self._handle, keepalive_timeout=self._limits.header_seconds,
                      lingering_time=0,  # never read (and discard) a body we refused
                      access_log=None, logger=_http_log)

    def protocol():
      if len(http.connections) >= self._limits.max_connections:
        return _TooManyConnections()
      return http()

    listener = await self._loop.create_server(
        protocol, sock=self._socket, backlog=256, ssl=self._ssl,
        ssl_handshake_timeout=self._limits.handshake_seconds if self._ssl else None)
    self._started.set()
    await self._stop_requested.wait()
    listener.close()  # no new connections
    deadline = self._loop.time() + self._grace
    while self._active and self._loop.time() < deadline:
      await asyncio.sleep(0.01)
    await http.shutdown(timeout=0.1)

  async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
    method, path = request.method, request.raw_path
    if path == "/metrics" and method == "GET":
      data, content_type = self._metrics.exposition()
      return web.Response(body=data, headers={"Content-Type": content_type})
    if self._token and not auth.bearer_matches(request.headers.get("Authorization"), self._token):
      return _response(json_reply(401, {"error": auth.REST_DENIED}), close=True)
    declared = request.content_length
    if declared is not None and declared > self._max_bytes:
      return _response(self._too_large(f"request body is {declared} bytes"), close=True)
    if self._active >= self._max_concurrent:
      return _response(json_reply(429, {"error": (
          f"server is at its limit of {self._max_concurrent} concurrent requests "
          "(--max_concurrent_requests); retry with backoff")}), close=request.body_exists)
    self._active += 1
    try:
      body = await self._read_body(request)
      if isinstance(body, Reply):
        return _response(body, close=True)
      reply = await self._loop.run_in_executor(self._pool, self.api.handle, method, path, body)
      return _response(reply)
    finally:
      self._active -= 1

  def _too_large(self, what: str) -> Reply:
    return json_reply(413, {"error": (
        f"{what}, over the server's limit of {self._max_bytes} (--max_request_bytes); "
        "send fewer instances per request")})

  async def _read_body(self, request: web.BaseRequest) -> bytes | Reply:
    """The body, or the error reply when it is too large, too slow or badly framed."""
    if not request.body_exists:
      return b""
    if (request.version == HttpVersion11
        and request.headers.get("Expect", "").lower() == "100-continue"):
      # curl asks before sending a body over 1 KB; answered only now, after the token and size
      # checks, so a refused client never sends its body at all.
      await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
      request.writer.output_size = 0
    chunks, size = [], 0
    try:
      async with asyncio.timeout(self._limits.body_seconds):
        while chunk := await request.content.readany():
          size += len(chunk)
          if size > self._max_bytes:  # chunked, or more bytes than declared: stop reading
            return self._too_large(f"request body is over {size - len(chunk)} bytes")
          chunks.append(chunk)
    except TimeoutError:
      return json_reply(408, {"error": (
          f"request body did not arrive within {self._limits.body_seconds:g} s "
          f"({size} bytes read); send it at once")})
    except web.RequestPayloadError as e:  # bad chunk sizes, a body cut short
      return json_reply(400, {"error": f"request body is badly framed: {e}"})
    return b"".join(chunks)
