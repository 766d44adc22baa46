"""Recommend latency and throughput at 10k and 1M items, exact vs faiss, RPC vs in-process.

    bazel run //serving:bench -- --recommend                 # this benchmark, from the serving bench
    bazel run //serving/recommendation:bench                 # the same (~8 min on 2 shared cores)
    bazel run //serving/recommendation:bench -- --quick      # 10k items, short runs
    bazel run //serving/recommendation:bench -- --sizes=1000000 --indexes=faiss --concurrency=1,2,4

Protocol. For each catalogue size a synthetic export (`synthetic_export.py`: the recsys
signatures over 64-d item embeddings clustered around 1000 centres; the query tower is
the mean of the history's embeddings) is served by the real Recommendation server
(`server_main.start`) in this process, once with exact retrieval (`--exact_limit` =
the catalogue: the export's in-graph brute force) and once with the faiss index
(`--exact_limit=0`, IVF by default; the run waits for the index and its recall).
Load comes from separate client processes (`bench_load.py`: no TensorFlow,
pre-serialized requests), as `serving/bench.py` does for Predict, so client work does
not share the server's GIL: closed-loop Recommend(k=10) calls, each with a different
random 8-item history, at each concurrency level (threads split over up to
`--client_processes` processes), `--seconds` measured after `--warmup_seconds`.
"in-process" is `Recommender.recommend` on the same kind of request called directly in
the server's process (no RPC): p50/p99 of 200 calls (fewer, at least 20, past 10 s)
after 10 warm-up calls, measured before the load runs. Levels above 4 clients are skipped where one in-process call
takes over 100 ms (exact at 1M: they would only measure queueing). The load average is
printed at the start and end of every configuration: the machine is shared, so read
the absolute numbers with it.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

from serving.protos.trellis.serving.v1 import recommendation_service_pb2 as pb
from serving.recommendation import bench_load, server_main, synthetic_export

AIM_P99_MS = 50.0  # the aim at 1M items


@dataclasses.dataclass
class Row:
  items: int
  index: str
  recall: float
  clients: int
  qps: float
  p50: float
  p95: float
  p99: float
  errors: int
  in_process_p50: float
  in_process_p99: float


def _loadavg() -> str:
  return " ".join(f"{x:.1f}" for x in os.getloadavg())


def drive(port: int, items: int, concurrency: int, seconds: float, warmup: float,
          processes: int) -> tuple[float, np.ndarray, int, list[str]]:
  """Closed-loop load from client processes: (QPS, latencies ms, errors, error samples)."""
  processes = max(1, min(processes, concurrency))
  repo_root = pathlib.Path(bench_load.__file__).resolve().parents[2]
  env = dict(os.environ, PYTHONPATH=str(repo_root))
  start_at = time.time() + 1.5 + warmup  # every process measures the same window
  procs = []
  for i in range(processes):
    threads = concurrency // processes + (1 if i < concurrency % processes else 0)
    procs.append(subprocess.Popen(
        [sys.executable, "-m", "serving.recommendation.bench_load", f"--target=localhost:{port}",
         f"--items={items}", f"--history={synthetic_export.HISTORY}", "--k=10", f"--seed={i}",
         f"--threads={threads}", f"--seconds={seconds}", f"--start_at={start_at}"],
        stdout=subprocess.PIPE, env=env, cwd=repo_root))
  results = [json.loads(p.communicate()[0]) for p in procs]
  latencies = np.array([x for r in results for x in r["latencies"]]) * 1e3
  samples = [s for r in results for s in r["error_samples"]][:3]
  return len(latencies) / seconds, latencies, sum(r["errors"] for r in results), samples


def in_process(recommender, items: int, n: int = 200, budget: float = 10.0) -> tuple[float, float]:
  """p50 and p99 ms of `Recommender.recommend` on the load's kind of request.

  `n` calls after 10 warm-up calls, or fewer (at least 20) when they exceed `budget` seconds.
  """
  requests = [pb.RecommendRequest.FromString(r) for r in bench_load.requests(
      items, synthetic_export.HISTORY, 10, n + 10, seed=99)]
  times, stop_at = [], None
  for i, request in enumerate(requests):  # the first 10 warm up (graph tracing, caches)
    t = time.perf_counter()
    recommender.recommend(request)
    if i >= 10:
      times.append(time.perf_counter() - t)
      stop_at = stop_at or t + budget
      if len(times) >= 20 and time.perf_counter() > stop_at:
        break
  return tuple(float(x) for x in np.percentile(np.array(times) * 1e3, [50, 99]))


def bench_config(root: pathlib.Path, n: int, spec: str, args) -> list[Row]:
  """One server configuration: `exact` or `faiss`, `+batching` for server-side batching."""
  index, _, extra = spec.partition("+")
  if index not in ("exact", "faiss") or extra not in ("", "batching"):
    raise SystemExit(f"error: --indexes entry {spec!r}: use exact or faiss, optionally +batching")
  flags = [f"--export_root={root}", "--port=0", "--rest_port=-1", "--poll_seconds=0",
           f"--history_db={root / f'h-{index}.sqlite'}",
           f"--exact_limit={n if index == 'exact' else 0}", f"--nprobe={args.nprobe}",
           f"--index_kind={args.index_kind}"]
  if extra == "batching":  # concurrent requests' query_embedding / rank calls share one TF call
    flags += ["--enable_batching", f"--max_batch_size={args.max_batch_size}",
              f"--batch_timeout_micros={args.batch_timeout_micros}"]
  running = server_main.start(flags)
  rows = []
  try:
    assets = running.recommender.catalogs.published(1)
    assets.index_ready.wait()
    state = running.recommender.status()[1]
    print(f"{n:,} items, {state['index']}; load average {_loadavg()}", flush=True)
    ip50, ip99 = in_process(running.recommender, n)
    for c in args.levels:
      if c > 4 and ip50 > 100:
        print(f"  {c} clients skipped: one call takes {ip50:.0f} ms in-process", flush=True)
        continue
      qps, lat, errors, samples = drive(running.server.port, n, c, args.seconds,
                                        args.warmup_seconds, args.client_processes)
      p50, p95, p99 = np.percentile(lat, [50, 95, 99]) if len(lat) else (np.nan,) * 3
      label = state["index"].split(",")[0] + (" +batching" if extra else "")
      rows.append(Row(n, label, state["recall"], c, qps, p50, p95, p99,
                      errors, ip50, ip99))
      print("  " + _fmt(rows[-1]) + (f"  errors e.g. {samples}" if errors else ""), flush=True)
    print(f"  load average at end {_loadavg()}", flush=True)
  finally:
    running.stop()
  return rows


HEADER = ("| items | index | recall@10 | clients | QPS | p50 ms | p95 ms | p99 ms | errors | "
          "in-process p50 ms | in-process p99 ms | RPC/in-process p50 |\n"
          "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def _fmt(r: Row) -> str:
  return (f"| {r.items:,} | {r.index} | {r.recall:.3f} | {r.clients} | {r.qps:.0f} | {r.p50:.1f} | "
          f"{r.p95:.1f} | {r.p99:.1f} | {r.errors} | {r.in_process_p50:.1f} | "
          f"{r.in_process_p99:.1f} | {r.p50 / r.in_process_p50:.2f}x |")


def summary(rows: list[Row]) -> list[str]:
  """Per configuration: the highest measured QPS whose p99 is under the aim."""
  out = []
  for key in dict.fromkeys((r.items, r.index) for r in rows):
    mine = [r for r in rows if (r.items, r.index) == key]
    good = [r for r in mine if r.p99 < AIM_P99_MS and not r.errors]
    best = max(good, key=lambda r: r.qps) if good else None
    out.append(f"{key[0]:,} items, {key[1]}: " + (
        f"{best.qps:.0f} QPS at p99 {best.p99:.1f} ms ({best.clients} clients)" if best else
        f"no level kept p99 under {AIM_P99_MS:.0f} ms (lowest p99 {min(r.p99 for r in mine):.1f} ms)"))
  return out


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--sizes", default="10000,1000000")
  p.add_argument("--indexes", default="exact,faiss",
                 help="server configurations: exact, faiss, and either with +batching")
  p.add_argument("--max_batch_size", type=int, default=16, help="with +batching")
  p.add_argument("--batch_timeout_micros", type=int, default=1000, help="with +batching")
  p.add_argument("--concurrency", default="1,2,4,8,16")
  p.add_argument("--seconds", type=float, default=5.0, help="measured seconds per level")
  p.add_argument("--warmup_seconds", type=float, default=1.0)
  p.add_argument("--client_processes", type=int, default=4, help="at most this many load processes")
  p.add_argument("--nprobe", type=int, default=32)
  p.add_argument("--index_kind", default="ivf", choices=["ivf", "hnsw"])
  p.add_argument("--quick", action="store_true", help="10k items, 1,4 clients, 2 s per level")
  args = p.parse_args(argv)
  sizes = [10_000] if args.quick else [int(s) for s in args.sizes.split(",")]
  if args.quick:
    args.concurrency, args.seconds = "1,4", 2.0
  args.levels = [int(c) for c in args.concurrency.split(",")]
  started = datetime.datetime.now(datetime.UTC)
  print(f"started {started:%Y-%m-%d %H:%M} UTC; load average {_loadavg()}; "
        f"{os.cpu_count()} cores", flush=True)
  rows = []
  for n in sizes:
    with tempfile.TemporaryDirectory() as tmp:
      root = pathlib.Path(tmp)
      t = time.perf_counter()
      synthetic_export.write_export(root, n)
      print(f"synthetic export of {n:,} items written in {time.perf_counter() - t:.1f} s", flush=True)
      for index in args.indexes.split(","):
        rows += bench_config(root, n, index, args)
  ended = datetime.datetime.now(datetime.UTC)
  print(f"\n{started:%Y-%m-%d %H:%M}-{ended:%H:%M} UTC; load average at end {_loadavg()}")
  print(HEADER)
  for r in rows:
    print(_fmt(r))
  print(f"\nHighest QPS with p99 < {AIM_P99_MS:.0f} ms:")
  for line in summary(rows):
    print("  " + line)
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
