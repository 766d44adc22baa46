"""One load-generating client process for the Recommend benchmark (`bench.py`).

Kept free of TensorFlow (only grpc and the generated protos) so that several start
cheaply and their work does not share the server's GIL, as `serving/clients/bench_client.py`
does for Predict. It pre-serializes `--requests` different RecommendRequests (k items
for a random `--history` of the synthetic catalogue's ids), sends them round-robin from
`--threads` closed-loop threads (one channel each), measures from the wall-clock time
`--start_at` for `--seconds`, and prints a JSON summary:
{"latencies": [seconds...], "errors": n, "error_samples": [...]}.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import time

import grpc

from serving.clients import bench_client
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
  start_at = args.start_at or time.time() + 1.0

  def make_caller(index: int):
    channel = grpc.insecure_channel(args.target)
    call = channel.unary_unary(RECOMMEND, request_serializer=None, response_deserializer=None)
    sent = itertools.count(index * 997)  # threads start at different requests

    def once():
      call(payloads[next(sent) % len(payloads)], timeout=args.timeout)

    return once, channel.close

  # Wall-clock times: every client process starts measuring at the same --start_at.
  return bench_client.drive(make_caller, args.threads, start_at, start_at + args.seconds,
                            clock=time.time)


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
