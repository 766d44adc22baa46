"""One load-generating client process for the Recommend benchmark (`bench.py`).

Kept free of TensorFlow (only grpc and the generated protos) so that several start
cheaply and their work does not share the server's GIL, as `serving/bench_client.py`
does for Predict. It pre-serializes `--requests` different RecommendRequests (k items
for a random `--history` of the synthetic catalogue's ids), sends them round-robin from
`--threads` closed-loop threads (one channel each), measures from the wall-clock time
`--start_at` for `--seconds`, and prints a JSON summary:
{"latencies": [seconds...], "errors": n, "error_samples": [...]}.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time

import grpc

from serving.protos.trellis.serving.v1 import recommendation_service_pb2 as pb

RECOMMEND = "/trellis.serving.v1.RecommendationService/Recommend"


def requests(items: int, history: int, k: int, count: int, seed: int) -> list[bytes]:
  """`count` serialized requests over the ids `synthetic_export.item_ids(items)` gives."""
  rng = random.Random(seed)
  return [pb.RecommendRequest(
      recent_item_ids=[f"item_{rng.randrange(items):07d}" for _ in range(history)],
      k=k).SerializeToString() for _ in range(count)]


def run(args) -> dict:
  payloads = requests(args.items, args.history, args.k, args.requests, args.seed)
  latencies, errors, samples = [], [0], []
  lock = threading.Lock()
  start_at = args.start_at or time.time() + 1.0
  stop_at = start_at + args.seconds

  def worker(offset: int) -> None:
    channel = grpc.insecure_channel(args.target)
    call = channel.unary_unary(RECOMMEND, request_serializer=None, response_deserializer=None)
    mine, n = [], offset
    while (now := time.time()) < stop_at:
      request = payloads[n % len(payloads)]
      n += 1
      try:
        call(request, timeout=args.timeout)
        if now >= start_at:
          mine.append(time.time() - now)
      except Exception as e:  # counted and reported, the load goes on
        with lock:
          errors[0] += 1
          if len(samples) < 5:
            samples.append(f"{type(e).__name__}: {str(e)[:200]}")
    channel.close()
    with lock:
      latencies.extend(mine)

  threads = [threading.Thread(target=worker, args=(i * 997,)) for i in range(args.threads)]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  return {"latencies": latencies, "errors": errors[0], "error_samples": samples}


def main() -> None:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--target", required=True, help="host:port of the gRPC server")
  p.add_argument("--items", type=int, required=True, help="catalogue size of the synthetic export")
  p.add_argument("--history", type=int, default=8)
  p.add_argument("--k", type=int, default=10)
  p.add_argument("--requests", type=int, default=500, help="distinct requests, sent round-robin")
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--threads", type=int, default=1)
  p.add_argument("--seconds", type=float, default=5.0)
  p.add_argument("--start_at", type=float, default=0.0,
                 help="wall-clock time (time.time()) the measurement starts; earlier calls warm up")
  p.add_argument("--timeout", type=float, default=60.0)
  print(json.dumps(run(p.parse_args())))


if __name__ == "__main__":
  main()
