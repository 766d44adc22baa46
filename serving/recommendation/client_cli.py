"""Command line for the Recommendation API.

    bazel run //serving/recommendation:client -- recommend --user=user_00007 --k=10
    bazel run //serving/recommendation:client -- recommend --history=item_00001,item_00002 --category=books
    bazel run //serving/recommendation:client -- similar --item=item_00042 --k=5
    bazel run //serving/recommendation:client -- rank --user=user_00007 --candidates=item_00001,item_00002
    bazel run //serving/recommendation:client -- event --user=user_00007 --item=item_00042

Prints the response as JSON; a failed call prints the server's status and message and exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from google.protobuf import json_format

from serving.errors import ServingError
from serving.recommendation.client import RecommendationClient


def _ids(text: str) -> list[str]:
  return [t for t in text.split(",") if t]


def build_parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(prog="client", description=__doc__.splitlines()[0])
  p.add_argument("--server", default="localhost:8500", help="gRPC host:port")
  p.add_argument("--timeout", type=float, default=10.0)
  sub = p.add_subparsers(dest="command", required=True)
  r = sub.add_parser("recommend", help="top-k items for a user or a history")
  r.add_argument("--user", default="")
  r.add_argument("--history", default="", help="comma-separated recent item ids, oldest first")
  r.add_argument("--k", type=int, default=10)
  r.add_argument("--exclude", default="")
  r.add_argument("--category", action="append", default=[])
  r.add_argument("--min_price", type=float)
  r.add_argument("--max_price", type=float)
  r.add_argument("--mmr_lambda", type=float, default=0.0)
  r.add_argument("--max_per_category", type=int, default=0)
  r.add_argument("--rerank", action="store_true")
  r.add_argument("--label", default="", help="version label: stable or canary")
  s = sub.add_parser("similar", help="items similar to an item (or to new content)")
  s.add_argument("--item", default="")
  s.add_argument("--title", default="")
  s.add_argument("--description", default="")
  s.add_argument("--k", type=int, default=10)
  k = sub.add_parser("rank", help="order candidates for a user")
  k.add_argument("--user", default="")
  k.add_argument("--history", default="")
  k.add_argument("--candidates", required=True)
  e = sub.add_parser("event", help="record one interaction")
  e.add_argument("--user", required=True)
  e.add_argument("--item", required=True)
  e.add_argument("--time", type=int, help="Unix seconds (default now)")
  e.add_argument("--type", default="view")
  return p


def run(args: argparse.Namespace) -> dict:
  with RecommendationClient(args.server, timeout=args.timeout) as c:
    if args.command == "recommend":
      response = c.recommend(
          user_id=args.user, recent_item_ids=_ids(args.history), k=args.k,
          exclude_item_ids=_ids(args.exclude), categories=args.category, min_price=args.min_price,
          max_price=args.max_price, mmr_lambda=args.mmr_lambda,
          max_per_category=args.max_per_category, rerank=args.rerank, label=args.label)
    elif args.command == "similar":
      response = c.similar_items(item_id=args.item, title=args.title, description=args.description,
                                 k=args.k)
    elif args.command == "rank":
      response = c.rank(_ids(args.candidates), user_id=args.user, recent_item_ids=_ids(args.history))
    else:
      row = (args.user, args.item) + ((args.time,) if args.time else ())
      return {"accepted": c.record_events([row], event_type=args.type)}
  return json_format.MessageToDict(response, preserving_proto_field_name=True)


def main(argv: Sequence[str] | None = None) -> int:
  args = build_parser().parse_args(argv)
  try:
    print(json.dumps(run(args), indent=2))
  except ServingError as e:
    print(f"error: {e.code.name}: {e.message}", file=sys.stderr)
    return 1
  return 0


if __name__ == "__main__":
  sys.exit(main())
