"""One load-generating client process for `serving/bench.py` (gRPC or REST).

Kept free of TensorFlow so starting many of them is cheap: it sends a
pre-serialized request (made by the benchmark) with as little client-side work
as possible, so the numbers measure the server, and prints a JSON summary:
{"latencies": [seconds...], "errors": n, "error_samples": [...]}.
"""

import argparse
import http.client
import json
import pathlib
import threading
import time

import grpc


def _grpc_caller(target: str, method: str, request: bytes, token: str | None):
  channel = grpc.insecure_channel(target)
  call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
  metadata = (("authorization", f"Bearer {token}"),) if token else None

  def once():
    call(request, timeout=30, metadata=metadata)

  return once, channel.close


def _rest_caller(target: str, path: str, body: bytes, token: str | None):
  host, port = target.rsplit(":", 1)
  conn = http.client.HTTPConnection(host, int(port), timeout=30)
  headers = {"Content-Type": "application/json"}
  if token:
    headers["Authorization"] = f"Bearer {token}"

  def once():
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
      raise RuntimeError(f"HTTP {response.status}: {data[:200]!r}")

  return once, conn.close


def drive(make_caller, threads: int, start_at: float, stop_at: float,
          clock=time.monotonic) -> dict:
  """Closed-loop load: each of `threads` threads calls `make_caller(i)` for `(once, close)`,
  then calls `once()` back to back until `stop_at`, timing calls that start after `start_at`
  (`clock` times; `time.time` when several processes share one start). Errors are counted and
  the load goes on. Returns {"latencies": [seconds...], "errors": n, "error_samples": [...],
  "calls": every completed call, warm-up included, "cpu_seconds": this process's CPU time meanwhile}.
  """
  latencies, errors, samples, calls = [], [0], [], [0]
  cpu_start = time.process_time()
  lock = threading.Lock()

  def worker(index: int) -> None:
    once, close = make_caller(index)
    mine, warmup_calls = [], 0
    while (now := clock()) < stop_at:
      try:
        once()
        if now >= start_at:
          mine.append(clock() - now)
        else:
          warmup_calls += 1
      except Exception as e:  # counted and reported, the load goes on
        with lock:
          errors[0] += 1
          if len(samples) < 5:
            samples.append(f"{type(e).__name__}: {str(e)[:200]}")
    close()
    with lock:
      latencies.extend(mine)
      calls[0] += len(mine) + warmup_calls

  workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
  for t in workers:
    t.start()
  for t in workers:
    t.join()
  return {"latencies": latencies, "errors": errors[0], "error_samples": samples, "calls": calls[0],
          "cpu_seconds": time.process_time() - cpu_start}


def run(args) -> dict:
  request = pathlib.Path(args.request_file).read_bytes()
  make = _rest_caller if args.protocol == "rest" else _grpc_caller
  start_at = time.monotonic() + args.warmup_seconds
  return drive(lambda _: make(args.target, args.method, request, args.token), args.threads,
               start_at, start_at + args.seconds)


def main() -> None:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--protocol", choices=["grpc", "rest"], default="grpc")
  p.add_argument("--target", required=True, help="host:port")
  p.add_argument("--method", required=True, help="gRPC method path or REST URL path")
  p.add_argument("--request_file", required=True)
  p.add_argument("--threads", type=int, default=1)
  p.add_argument("--seconds", type=float, default=5.0)
  p.add_argument("--warmup_seconds", type=float, default=1.0)
  p.add_argument("--token")
  print(json.dumps(run(p.parse_args())))


if __name__ == "__main__":
  main()
