"""Which HTTP library carries the REST front: aiohttp against uvicorn+starlette, in one run.

    bazel run //serving/rest:library_bench [-- --seconds=5 --rows=1,64]

Both serve the same `RestApi` (TF Serving's routes over trellis's `Inference`) on
the affine test model, each the way it is meant to be used: aiohttp is trellis's
`RestServer`; uvicorn (h11, its pure-Python parser: httptools is not in the lock)
runs a starlette app that reads the body and calls `RestApi.handle` in
starlette's thread pool, as `RestServer` does in its own. A client process
(`serving/clients/bench_client.py`, one keep-alive connection) sends `:predict` requests
back to back; the server's CPU per request is this process's CPU time over the
run divided by the requests the client completed (warm-up included in both).

Then two abuse probes against each, with the same 2 s keep-alive/header setting:
20 connections that send half a request head and stop (slowloris), counted as
still open after 4 s; and a head with `Content-Length: -1`, whose answer is shown.
"""

import argparse
import asyncio
import json
import os
import pathlib
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import serving
from serving.core.inference import Inference
from serving.core.metrics import ServingMetrics
from serving.core.model_registry import ModelRegistry
from serving.rest.routes import RestApi
from serving.rest.server import RestLimits, RestServer
from serving.testing import models
from serving.versions.watcher import VersionWatcher

HEADER_SECONDS = 2.0


class UvicornFront:
  """uvicorn + starlette carrying the same RestApi, in a background thread."""

  def __init__(self, inference: Inference):
    api = RestApi(inference)

    async def endpoint(request: Request) -> Response:
      body = await request.body()
      path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
      reply = await run_in_threadpool(api.handle, request.method, path, body)
      return Response(reply.body, reply.status, media_type=reply.content_type)

    app = Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])])
    # proto=IPPROTO_TCP, or asyncio does not set TCP_NODELAY on accepted connections and
    # uvicorn's separate header and body writes wait ~40 ms for the client's delayed ACK.
    self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    self._socket.bind(("localhost", 0))
    self._socket.listen(256)
    self._server = uvicorn.Server(uvicorn.Config(
        app, lifespan="off", log_config=None, access_log=False,
        timeout_keep_alive=HEADER_SECONDS))
    self._thread = threading.Thread(
        target=lambda: asyncio.run(self._server.serve(sockets=[self._socket])), daemon=True)

  @property
  def port(self) -> int:
    return self._socket.getsockname()[1]

  def start(self) -> None:
    self._thread.start()
    while not self._server.started:
      time.sleep(0.01)

  def stop(self, grace: float) -> None:
    self._server.should_exit = True
    self._thread.join(grace + 5)
    self._socket.close()


def cpu_per_request(port: int, body: bytes, seconds: float) -> tuple[float, float, int]:
  """(server µs of CPU per request, client µs per request, requests) over one client process."""
  repo_root = pathlib.Path(serving.__file__).resolve().parents[1]
  with tempfile.NamedTemporaryFile(suffix=".json") as f:
    f.write(body)
    f.flush()
    cpu_start = time.process_time()  # this process runs only the server meanwhile
    out = subprocess.run(
        [sys.executable, "-m", "serving.clients.bench_client", "--protocol=rest",
         f"--target=localhost:{port}", "--method=/v1/models/affine:predict",
         f"--request_file={f.name}", "--threads=1", f"--seconds={seconds}"],
        capture_output=True, text=True, check=True, cwd=repo_root,
        env=dict(os.environ, PYTHONPATH=str(repo_root))).stdout
    server_cpu = time.process_time() - cpu_start
  result = json.loads(out)
  if result["errors"]:
    raise RuntimeError(f"bench requests failed: {result['error_samples']}")
  calls = max(1, result["calls"])
  return server_cpu / calls * 1e6, result["cpu_seconds"] / calls * 1e6, calls


def slowloris_still_open(port: int, connections: int = 20, wait: float = 4.0) -> int:
  """Connections with an unfinished request head that the server has not closed after `wait` s."""
  socks = []
  for _ in range(connections):
    s = socket.create_connection(("localhost", port), timeout=wait)
    s.sendall(b"POST /v1/models/affine:predict HTTP/1.1\r\nHost: localhost\r\n")
    socks.append(s)
  time.sleep(wait)
  still_open = 0
  for s in socks:
    s.setblocking(False)
    try:
      s.recv(1)  # EOF or an error reply: the server let go
    except BlockingIOError:
      still_open += 1  # nothing to read and no EOF: the server still holds it
    except OSError:
      pass  # reset: closed
    s.close()
  return still_open


def negative_content_length(port: int) -> str:
  with socket.create_connection(("localhost", port), timeout=5) as s:
    s.sendall(b"POST /v1/models/affine:predict HTTP/1.1\r\nHost: localhost\r\n"
              b"Content-Length: -1\r\n\r\n")
    try:
      head = s.recv(4096).split(b"\r\n", 1)[0].decode(errors="replace")
    except TimeoutError:
      return "no answer in 5 s (reads until EOF)"
  return head or "connection closed"


def _cpu_name() -> str:
  for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
    if line.startswith("model name"):
      return line.split(":", 1)[1].strip()
  return platform.machine()


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--seconds", type=float, default=5.0, help="client run per library and payload")
  p.add_argument("--rows", default="1,64", help="instances per :predict request")
  args = p.parse_args(argv)
  rows = [int(r) for r in args.rows.split(",")]
  with tempfile.TemporaryDirectory() as tmp:
    root = pathlib.Path(tmp)
    models.publish_affine(root, 1)
    registry, metrics = ModelRegistry(), ServingMetrics()
    VersionWatcher(root, registry, poll_seconds=0).poll_once()
    inference = Inference(registry, metrics)
    fronts = {
        "aiohttp": lambda: RestServer(inference, host="localhost", port=0,
                                      max_request_bytes=16 << 20, max_concurrent=64,
                                      limits=RestLimits(header_seconds=HEADER_SECONDS)),
        "uvicorn+starlette": lambda: UvicornFront(inference),
    }
    table = []
    for name, make in fronts.items():
      front = make()
      front.start()
      try:
        cpu = {}
        for n in rows:
          body = json.dumps({"instances": [[1.0, 2.0, 3.0]] * n}).encode()
          cpu[n] = cpu_per_request(front.port, body, args.seconds)
          print(f"  {name} rows={n}: server {cpu[n][0]:.0f} µs/request over {cpu[n][2]} requests",
                flush=True)
        table.append((name, cpu, slowloris_still_open(front.port),
                      negative_content_length(front.port)))
      finally:
        front.stop(grace=2)
  print(f"\nREST front libraries on the affine model; CPU: {_cpu_name()}, {os.cpu_count()} cores; "
        f"one client process, one keep-alive connection, {args.seconds:g} s per cell")
  head = (["library"] + [f"server µs/request, {n}-row predict" for n in rows]
          + [f"ratio to aiohttp, {n}-row" for n in rows]
          + [f"slow heads open after 4 s (of 20, {HEADER_SECONDS:g} s timeout)",
             "answer to Content-Length: -1"])
  base = table[0][1]
  lines = [[name] + [f"{cpu[n][0]:.0f}" for n in rows] + [f"{cpu[n][0] / base[n][0]:.2f}" for n in rows]
           + [str(still), cl] for name, cpu, still, cl in table]
  print("| " + " | ".join(head) + " |")
  print("|" + "---|" * len(head))
  for line in lines:
    print("| " + " | ".join(line) + " |")
  return 0


if __name__ == "__main__":
  sys.exit(main())
