"""Starts the model server with the Recommendation API mounted on it.

    bazel run //serving/recommendation:server -- --export_root=/tmp/trellis/exports \
        --items_csv=/tmp/trellis/world/items.csv --history_db=/tmp/trellis/history.sqlite
    # a canary: version 2 answers 10% of users, version 1 the rest
    ... --labels=stable=1,canary=2 --canary_share=0.1

Every flag of `//serving:server` applies (ports, batching, TLS, auth); the flags below
are the recommendation ones.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
from collections.abc import Sequence

from serving.core import logs, server_main
from serving.core.server import ModelServer
from serving.recommendation import candidate_index, history_store, servicer
from serving.recommendation.item_table import ItemTable
from serving.recommendation.recommender import Limits, Recommender
from serving.recommendation.traffic import TrafficSplit
from serving.versions.watcher import VersionPolicy


def build_parser() -> argparse.ArgumentParser:
  p = server_main.build_parser()
  p.prog = "recommendation_server"
  g = p.add_argument_group("recommendation")
  g.add_argument("--recsys_model", default="recsys", help="model name of the recsys export")
  g.add_argument("--items_csv", help="item table (shop world items.csv) for filters and the demo")
  g.add_argument("--history_db", default="/tmp/trellis/history.sqlite",
                 help="SQLite file for user histories, or redis://host:port/db")
  g.add_argument("--max_history_per_user", type=int, default=200)
  g.add_argument("--labels", default="", help="version labels, e.g. stable=1,canary=2")
  g.add_argument("--canary_share", type=float, default=0.0,
                 help="share of users (by user id hash) sent to the canary version")
  g.add_argument("--exact_limit", type=int, default=100_000,
                 help="catalogues larger than this get a faiss index (--index_kind, IVF by default)")
  g.add_argument("--index_kind", default="ivf", choices=["ivf", "hnsw"],
                 help="faiss index above --exact_limit: ivf (IVFFlat, builds in seconds at 1M) or "
                      "hnsw (faster search, builds for minutes at 1M)")
  g.add_argument("--nprobe", type=int, default=32, help="IVF lists scanned per query")
  g.add_argument("--max_k", type=int, default=1000)
  g.add_argument("--max_events", type=int, default=1000, help="events per RecordEvents request")
  return p


@dataclasses.dataclass
class RecommendationServer:
  """A started ModelServer with the Recommendation API; `stop()` closes both."""

  server: ModelServer
  recommender: Recommender

  def stop(self, grace: float = 5.0) -> None:
    self.recommender.close()  # a watcher waiting for a new version's index stops waiting
    self.server.stop(grace)
    self.recommender.store.close()


def start(argv: Sequence[str]) -> RecommendationServer:
  args = build_parser().parse_args(list(argv))
  try:
    split = TrafficSplit.parse(args.labels, args.canary_share)
  except ValueError as e:
    raise SystemExit(f"error: {e}") from None
  options = server_main.options_from_args(args)
  pinned = tuple(v for v in (split.stable, split.canary) if v is not None)
  if pinned:  # labelled versions must stay loaded, whatever is newest
    policy = VersionPolicy(num_latest=options.policy.num_latest,
                           pinned=options.policy.pinned | {args.recsys_model: pinned})
    options = dataclasses.replace(options, policy=policy)
  items = ItemTable.read_csv(args.items_csv) if args.items_csv else None
  store = history_store.open_store(args.history_db, args.max_history_per_user)
  model_server = ModelServer(options)
  recommender = Recommender(
      model_server.inference, args.recsys_model, store, items, split,
      candidate_index.IndexOptions(exact_limit=args.exact_limit, kind=args.index_kind,
                                   nprobe=args.nprobe),
      Limits(max_k=args.max_k, max_events=args.max_events))
  servicer.mount(model_server, recommender)
  model_server.start()
  return RecommendationServer(model_server, recommender)


def main(argv: Sequence[str] | None = None) -> int:
  argv = sys.argv[1:] if argv is None else argv
  logs.setup("INFO")
  running = start(argv)
  print(f"grpc_port={running.server.port} rest_port={running.server.rest_port}", flush=True)
  stop = threading.Event()
  for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, lambda *_: stop.set())
  while not stop.wait(1.0):
    pass
  running.stop()
  return 0


if __name__ == "__main__":
  sys.exit(main())
