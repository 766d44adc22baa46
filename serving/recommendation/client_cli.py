"""Command line for the Recommendation API.

    bazel run //serving/recommendation:client -- recommend --user=user_00007 --k=10
    bazel run //serving/recommendation:client -- recommend --history=item_00001,item_00002 --category=books
    bazel run //serving/recommendation:client -- similar --item=item_00042 --k=5
    bazel run //serving/recommendation:client -- rank --user=user_00007 --candidates=item_00001,item_00002
    bazel run //serving/recommendation:client -- event --user=user_00007 --item=item_00042
    bazel run //serving/recommendation:client -- events --csv=/tmp/trellis/world/interactions.csv

Prints the response as JSON; a failed call prints the server's status and message and exits 1.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import sys
from collections.abc import Iterator, Sequence

from google.protobuf import json_format

from serving.core.errors import ServingError
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
  v = sub.add_parser("events", help="stream interactions from a CSV over StreamEvents")
  v.add_argument("--csv", required=True, help="columns user_id,item_id,timestamp[,rating] "
                 "(the shop world's interactions.csv)")
  v.add_argument("--batch_size", type=int, default=500, help="events per streamed batch")
  v.add_argument("--type", default="", help="event_type of every event")
  return p


class _CsvEvents:
  """Batches of (user_id, item_id, timestamp, rating) from a CSV, read lazily so big files stream.

  The header is checked at once; a bad row later ends the stream cleanly (gRPC consumes
  the batches in its own thread, where an exception would only cancel the call) and is
  kept in `error` for the caller to report.
  """

  def __init__(self, path: str, batch_size: int):
    self.path, self.batch_size, self.error = path, batch_size, None
    with open(path, newline="") as f:
      missing = {"user_id", "item_id", "timestamp"} - set(csv.DictReader(f).fieldnames or ())
    if missing:
      raise SystemExit(f"error: {path} lacks column(s) {sorted(missing)}; expected "
                       "user_id,item_id,timestamp[,rating]")

  def _rows(self, reader) -> Iterator[tuple]:
    for line, r in enumerate(reader, start=2):
      try:
        yield (r["user_id"], r["item_id"], int(r["timestamp"]),
               float(r["rating"]) if r.get("rating") else None)
      except (TypeError, ValueError) as e:
        self.error = f"{self.path} line {line}: {e} (timestamp must be Unix seconds)"
        return

  def __iter__(self) -> Iterator[list[tuple]]:
    with open(self.path, newline="") as f:
      rows = self._rows(csv.DictReader(f))
      while batch := list(itertools.islice(rows, self.batch_size)):
        if self.error:
          return  # the batch holding the bad row is not sent
        yield batch


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
    elif args.command == "events":
      events = _CsvEvents(args.csv, args.batch_size)
      accepted = c.stream_events(events, event_type=args.type)
      if events.error:
        raise SystemExit(f"error: {events.error}; the {accepted} events of the batches before it "
                         "were stored")
      return {"accepted": accepted}
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
