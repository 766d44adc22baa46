"""Batch recommendations through the same export and feature code as the online API.

    bazel run //tools:batch_predict -- --export_dir=/tmp/trellis/exports/recsys \
        --input=users.csv --output=/tmp/recs.csv --k=10 [--history_db=/tmp/trellis/history.sqlite]

`--input` is a CSV with a `user_id` column and optionally `history` (space-separated item
ids, oldest first) and `timestamp` (the request time, Unix seconds; default
`--request_time`, else now). Users without a `history` column value take theirs from
`--history_db`, the store the online server records events in. Each row is padded by
`serving/recommendation/scoring.py` (recsys.features.pad_history) and scored by the
export's `recommend` signature, exactly as the online exact path does, so batch and
online results are identical. The output has one row per (user, rank):
user_id,rank,item_id,score,rank_score.
"""

from __future__ import annotations

import argparse
import csv
import pathlib
import sys
import time
from collections.abc import Sequence

import numpy as np

from common.export import versions
from serving.recommendation import history_store, scoring
from serving.servable import load


def _read_input(path: pathlib.Path) -> list[dict]:
  if not path.exists():
    raise SystemExit(f"error: --input {path} does not exist; write a CSV with a user_id column")
  with path.open(newline="") as f:
    reader = csv.DictReader(f)
    if not reader.fieldnames or "user_id" not in reader.fieldnames:
      raise SystemExit(f"error: {path} has no user_id column (columns: {reader.fieldnames}); "
                       "expected user_id[,history][,timestamp]")
    return list(reader)


def predict(export_dir: str | pathlib.Path, rows: list[dict], k: int, *, request_time: int,
            store: history_store.HistoryStore | None = None, batch_size: int = 256
            ) -> list[tuple[str, int, str, float, float]]:
  """(user_id, rank, item_id, score, rank_score) for every input row."""
  try:
    export_dir = versions.resolve(export_dir)
  except versions.ExportLayoutError as e:
    raise SystemExit(f"error: --export_dir: {e}") from None
  servable = load("recsys", int(export_dir.name) if export_dir.name.isdigit() else 0, export_dir)
  sig = servable.signatures["recommend"]
  max_history = int(sig.inputs["history_ids"].shape[1])
  known = set((export_dir / "assets" / "item_ids.txt").read_text().split("\n")[:-1])
  if not 1 <= k <= len(known):
    raise SystemExit(f"error: --k={k} must be between 1 and the catalogue size {len(known)}")
  out = []
  for start in range(0, len(rows), batch_size):
    chunk = rows[start:start + batch_size]
    users, histories, times, now = [], [], [], []
    for line, row in enumerate(chunk, start=start + 2):
      user = row["user_id"]
      if row.get("history"):
        ids = row["history"].split()
        t = int(row.get("timestamp") or request_time)
        hist_times = [t] * len(ids)
      elif store is not None:
        events = store.history(user, max_history)
        ids, hist_times = [e.item_id for e in events], [e.timestamp for e in events]
        t = int(row.get("timestamp") or request_time)
      else:
        raise SystemExit(f"error: input line {line}: user {user!r} has no history column and no "
                         "--history_db was given to look it up")
      unknown = [i for i in ids if i not in known]
      if not ids or unknown:
        why = f"unknown item ids {unknown[:5]}" if unknown else "an empty history"
        raise SystemExit(f"error: input line {line}: user {user!r} has {why}; fix the input")
      users.append(user)
      histories.append(ids)
      times.append(hist_times)
      now.append(t)
    inputs = scoring.query_inputs(users, histories, times, now, max_history)
    result = sig.run(sig.check_inputs(inputs | {"k": np.array(k, np.int32)}))
    for b, user in enumerate(users):
      for r in range(k):
        out.append((user, r + 1, result["item_ids"][b, r].decode(), float(result["scores"][b, r]),
                    float(result["rank_scores"][b, r])))
  return out


def main(argv: Sequence[str] | None = None) -> int:
  p = argparse.ArgumentParser(prog="batch_predict", description=__doc__.splitlines()[0])
  p.add_argument("--export_dir", required=True, help="<export_root>/recsys or one version folder")
  p.add_argument("--input", required=True, help="CSV: user_id[,history][,timestamp]")
  p.add_argument("--output", required=True, help="CSV to write")
  p.add_argument("--k", type=int, default=10)
  p.add_argument("--history_db", help="SQLite file or redis:// URL of the online history store")
  p.add_argument("--request_time", type=int, default=0, help="Unix seconds; 0 = now")
  args = p.parse_args(argv)
  store = history_store.open_store(args.history_db) if args.history_db else None
  start = time.perf_counter()
  rows = predict(args.export_dir, _read_input(pathlib.Path(args.input)), args.k,
                 request_time=args.request_time or int(time.time()), store=store)
  with open(args.output, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["user_id", "rank", "item_id", "score", "rank_score"])
    w.writerows(rows)
  print(f"wrote {len(rows)} rows for {len(rows) // args.k} users to {args.output} "
        f"in {time.perf_counter() - start:.1f} s")
  return 0


if __name__ == "__main__":
  sys.exit(main())
