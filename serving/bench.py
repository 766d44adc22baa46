"""Server overhead and batching throughput, measured against the same model in-process.

    bazel run //serving:bench                        # table: in-process vs bare grpcio vs gRPC vs REST,
                                                     # batching off/on; trellis CPU per request / floor
    bazel run //serving:bench -- --model=mlp         # the same for a realistic small model
    bazel run //vision:bench_exports -- --export_root=/tmp/trellis/bench_exports
    bazel run //serving:bench -- --model=resnet20 --export_root=/tmp/trellis/bench_exports
                                                     # a real vision export (resnet20, resnet50)
    bazel run //serving:bench -- --soak_seconds=600  # fixed load, errors and latency per minute
    bazel run //serving:bench -- --recommend         # Recommend at 10k/1M items, exact vs faiss
                                                     # (serving/recommendation/bench.py; its flags follow)

Protocol. A model (published by the bench into a temporary export root, or read from
`--export_root`) is served by a `ModelServer` in this process; every request is one row. `--model=affine`
(`models.Affine`, a 3x2 matmul: compute ~0, so the table shows the
server's own overhead) or `--model=mlp` (`models.RankingMLP`, the
2.2 M-parameter top MLP of MLPerf's DLRM ranking model on a 479-float feature
vector, 4.39 MFLOP per row: a small production model, where batching has
compute to amortise), both published by the bench itself, or `--model=resnet20` /
`--model=resnet50`: trellis's real vision exports (encoded image bytes in, decoding and the
ResNet in the graph, untrained weights: the compute of a trained model), which the bench reads
from `--export_root` where `bazel run //vision:bench_exports` published them (serving never
imports vision: it serves exports). Load comes from separate client processes (`bench_client.py`, no
TensorFlow, pre-serialized requests, one channel/connection per thread), so
client work does not share the server's GIL. Each concurrency level runs
`--seconds` after a 1 s warm-up. "in-process" calls the loaded signature from
the same number of Python threads (the best a server could do);
"in-process batched" calls it with `--max_batch_size` rows per call and counts
rows/s (the ceiling for server-side batching). "gRPC floor" is a bare grpcio
server in this process, with the same thread pool: a generic handler that
deserializes the PredictRequest and returns a fixed PredictResponse of the size
trellis answers with, so its CPU per request is what any Python gRPC server pays
for this payload; `trellis / floor` divides the server CPU per request of
trellis's gRPC Predict (batching off) by it, at each concurrency. Ratios: `p50 overhead` =
server p50 - in-process p50; `QPS ratio` = server QPS / in-process QPS at the
same concurrency (with batching: / in-process batched rows/s).
The machine is shared: run it when nothing else is, and read ratios, not
absolute numbers.
"""

import argparse
import base64
import concurrent.futures
import dataclasses
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

import serving
from serving.core import servable as servable_lib
from serving.core.inference import BatchingOptions
from serving.core.server import ModelServer, ServerOptions
from serving.testing import models
from serving.versions.watcher import list_versions

PREDICT = "/tensorflow.serving.PredictionService/Predict"


@dataclasses.dataclass(frozen=True)
class BenchModel:
  """A benchmark model: how to publish it and what one request row looks like."""

  name: str
  publish: object | None  # (export_root, version) -> path; None: read from --export_root
  input_name: str
  row: np.ndarray  # one request row, shape (1, features)


def _image_row(height: int, width: int, encode) -> np.ndarray:
  """One encoded image (a smooth gradient with mild noise, so it compresses like a photo)."""
  rng = np.random.default_rng(0)
  yy, xx = np.mgrid[0:height, 0:width]
  pixels = np.stack([xx * 255 // width, yy * 255 // height, (xx + yy) * 127 // (height + width)], -1)
  pixels = np.clip(pixels + rng.integers(-8, 9, pixels.shape), 0, 255).astype(np.uint8)
  return np.array([encode(pixels).numpy()], dtype=object)


def _models() -> dict[str, BenchModel]:
  rng = np.random.default_rng(0)
  return {
      "affine": BenchModel("affine", models.publish_affine, "x", np.ones((1, 3), np.float32)),
      "mlp": BenchModel("mlp", models.publish_mlp, "features",
                        rng.normal(size=(1, models.MLP_FEATURES)).astype(np.float32)),
      # Vision exports read from --export_root (`bazel run //vision:bench_exports`). The vision
      # demo's model (vision/configs/default.py): ResNet-20 on a 32x32 PNG.
      "resnet20": BenchModel("resnet20", None, "image_bytes", _image_row(32, 32, tf.io.encode_png)),
      # ImageNet ResNet-50 v1.5 (vision/configs/resnet50_tpu_pod.py) on a 256x256 JPEG,
      # centre-cropped to 224 (eval crop 0.875) in the graph.
      "resnet50": BenchModel("resnet50", None, "image_bytes",
                             _image_row(256, 256, tf.io.encode_jpeg)),
  }


@dataclasses.dataclass
class Stats:
  label: str
  concurrency: int
  qps: float
  p50: float
  p95: float
  p99: float
  errors: int = 0
  samples: tuple = ()
  cpu_us: float = float("nan")  # this process's CPU per request (per row in-process)
  client_cpu_us: float = float("nan")  # the client processes' CPU per request

  @classmethod
  def of(cls, label, concurrency, latencies, seconds, errors=0, samples=(), **cpu):
    lat = np.asarray(latencies) * 1e3 if latencies else np.zeros(1)
    return cls(label, concurrency, len(latencies) / seconds, *np.percentile(lat, [50, 95, 99]),
               errors, tuple(samples), **cpu)


def in_process(sig, inputs, concurrency: int, seconds: float, rows: int = 1) -> Stats:
  """The signature called from `concurrency` threads; QPS counts rows."""
  latencies, lock = [], threading.Lock()
  for _ in range(20):
    sig.run(inputs)
  cpu_start = time.process_time()
  stop_at = time.monotonic() + seconds

  def worker():
    mine = []
    while (start := time.monotonic()) < stop_at:
      sig.run(inputs)
      mine.append(time.monotonic() - start)
    with lock:
      latencies.extend(mine)

  threads = [threading.Thread(target=worker) for _ in range(concurrency)]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  cpu_us = (time.process_time() - cpu_start) / max(1, len(latencies) * rows) * 1e6
  stats = Stats.of("in-process" if rows == 1 else f"in-process batched ({rows} rows/call)",
                   concurrency, latencies, seconds, cpu_us=cpu_us)
  stats.qps *= rows
  return stats


def drive(label: str, target: str, method: str, request: bytes, concurrency: int,
          seconds: float, processes: int, protocol: str = "grpc") -> Stats:
  """Load from `processes` client processes with `concurrency` threads in total."""
  processes = max(1, min(processes, concurrency))
  repo_root = pathlib.Path(serving.__file__).resolve().parents[1]
  env = dict(os.environ, PYTHONPATH=str(repo_root))
  cpu_start = time.process_time()  # this process runs only the server meanwhile
  with tempfile.NamedTemporaryFile(suffix=".bin") as f:
    f.write(request)
    f.flush()
    procs = []
    for i in range(processes):
      threads = concurrency // processes + (1 if i < concurrency % processes else 0)
      procs.append(subprocess.Popen(
          [sys.executable, "-m", "serving.clients.bench_client", f"--protocol={protocol}",
           f"--target={target}", f"--method={method}", f"--request_file={f.name}",
           f"--threads={threads}", f"--seconds={seconds}"],
          stdout=subprocess.PIPE, env=env, cwd=repo_root))
    results = [json.loads(p.communicate()[0]) for p in procs]
  server_cpu = time.process_time() - cpu_start
  latencies = [x for r in results for x in r["latencies"]]
  calls = max(1, sum(r["calls"] for r in results))  # warm-up included, as in both CPU times
  return Stats.of(label, concurrency, latencies, seconds, sum(r["errors"] for r in results),
                  [s for r in results for s in r["error_samples"]][:3],
                  cpu_us=server_cpu / calls * 1e6,
                  client_cpu_us=sum(r["cpu_seconds"] for r in results) / calls * 1e6)


def _table(rows: list[tuple[Stats, Stats]], markdown: bool) -> str:
  head = ["mode", "conc.", "QPS", "p50 ms", "p95 ms", "p99 ms", "errors", "p50 overhead ms",
          "QPS ratio", "server CPU µs/req", "client CPU µs/req"]
  lines = []
  for stats, base in rows:
    overhead = f"{stats.p50 - base.p50:+.2f}" if base.label == "in-process" else ""
    ratio = f"{stats.qps / base.qps:.2f}" if stats is not base else ""
    cpu = lambda us: "" if np.isnan(us) else f"{us:.0f}"  # noqa: E731
    lines.append([stats.label, str(stats.concurrency), f"{stats.qps:.0f}", f"{stats.p50:.2f}",
                  f"{stats.p95:.2f}", f"{stats.p99:.2f}", str(stats.errors), overhead, ratio,
                  cpu(stats.cpu_us), cpu(stats.client_cpu_us)])
  if markdown:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(out + ["| " + " | ".join(line) + " |" for line in lines])
  widths = [max(len(x) for x in col) for col in zip(head, *lines, strict=True)]
  fmt = lambda line: "  ".join(x.rjust(w) if i else x.ljust(w)  # noqa: E731
                               for i, (x, w) in enumerate(zip(line, widths, strict=True)))
  return "\n".join([fmt(head), fmt(["-" * w for w in widths])] + [fmt(line) for line in lines])


def _request_bytes(model: BenchModel) -> tuple[bytes, bytes]:
  request = predict_pb2.PredictRequest()
  request.model_spec.name = model.name
  request.inputs[model.input_name].CopyFrom(tf.make_tensor_proto(model.row))
  if model.row.dtype == object:  # encoded bytes: TF Serving's REST form is {"b64": ...}
    instances = [{"b64": base64.b64encode(x).decode()} for x in model.row]
  else:
    instances = model.row.tolist()
  rest = json.dumps({"instances": instances}).encode()
  return request.SerializeToString(), rest


def served_version(export_root: str | None, model: BenchModel) -> tuple[int, str]:
  """The newest version of `model` under `export_root` and its directory.

  Raises:
    SystemExit: no export root was given, or it holds no version of the model; the message
      says how to publish one.
  """
  publish = (f"bazel run //vision:bench_exports -- --export_root={export_root or 'DIR'} "
             f"--models={model.name}")
  if not export_root:
    raise SystemExit(f"--model={model.name} is a vision export the benchmark reads from "
                     f"--export_root: publish it with `{publish}`, then pass --export_root=DIR")
  model_dir = export_root.rstrip("/") + "/" + model.name
  versions = list_versions(model_dir) if tf.io.gfile.isdir(model_dir) else []
  if not versions:
    raise SystemExit(f"--export_root={export_root} has no {model.name}/<version>/ export; "
                     f"publish one with `{publish}`")
  return versions[-1], f"{model_dir}/{versions[-1]}"


def _trellis_response(root: str, model: BenchModel, request: bytes) -> bytes:
  """trellis's serialized PredictResponse to `request` (what the floor server answers with)."""
  server = ModelServer(ServerOptions(root, model_names=(model.name,), port=0, rest_port=None,
                                     poll_seconds=0)).start()
  try:
    with grpc.insecure_channel(f"localhost:{server.port}") as channel:
      stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
      response = stub.Predict(predict_pb2.PredictRequest.FromString(request), timeout=60)
  finally:
    server.stop(grace=1)
  return response.SerializeToString()


def floor_server(response: bytes, threads: int) -> tuple[grpc.Server, int]:
  """A bare grpcio server: Predict deserializes the request and returns `response` (serialized
  per call, as any servicer's is). Returns the started server and its port."""
  fixed = predict_pb2.PredictResponse.FromString(response)
  handler = grpc.method_handlers_generic_handler("tensorflow.serving.PredictionService", {
      "Predict": grpc.unary_unary_rpc_method_handler(
          lambda request, context: fixed,
          request_deserializer=predict_pb2.PredictRequest.FromString,
          response_serializer=predict_pb2.PredictResponse.SerializeToString)})
  server = grpc.server(concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="floor"),
                       handlers=[handler], options=[("grpc.so_reuseport", 0)])
  port = server.add_insecure_port("localhost:0")
  server.start()
  return server, port


def _cpu_ratios(rows: list[tuple[Stats, Stats]]) -> str:
  """Per concurrency: trellis's server CPU per gRPC Predict over the bare grpcio floor's."""
  floor = {s.concurrency: s for s, _ in rows if s.label == "gRPC floor (bare grpcio)"}
  lines = []
  for s, base in rows:
    if s.label == "gRPC" and s.concurrency in floor:
      f = floor[s.concurrency]
      lines.append(f"  c={s.concurrency}: floor {f.cpu_us:.0f} µs, trellis {s.cpu_us:.0f} µs, "
                   f"trellis / floor = {s.cpu_us / f.cpu_us:.2f} (aim <= 1.5); p50 overhead over "
                   f"in-process {s.p50 - base.p50:+.2f} ms (aim < 1)")
  return "\n".join(["Server CPU per gRPC Predict (batching off) against the bare grpcio floor:",
                    *lines])


def benchmark(args, root: str, model: BenchModel) -> None:
  grpc_request, rest_request = _request_bytes(model)
  servable = servable_lib.load(model.name, *served_version(root, model))
  sig = servable.signatures["serving_default"]
  levels = [int(c) for c in args.concurrency.split(",")]
  print(f"model {model.name}; load average at start {_loadavg()}", flush=True)
  base = {c: in_process(sig, {model.input_name: model.row}, c, args.seconds) for c in levels}
  batched = in_process(sig, {model.input_name: np.repeat(model.row, args.max_batch_size, axis=0)},
                       1, args.seconds, rows=args.max_batch_size)
  rows: list[tuple[Stats, Stats]] = [(base[c], base[c]) for c in levels] + [(batched, batched)]
  floor, floor_port = floor_server(_trellis_response(root, model, grpc_request), max(levels))
  try:
    for c in levels:
      stats = drive("gRPC floor (bare grpcio)", f"localhost:{floor_port}", PREDICT, grpc_request, c,
                    args.seconds, args.client_processes)
      rows.append((stats, base[c]))
      print(f"  {stats.label} c={c}: {stats.qps:.0f} QPS, {stats.cpu_us:.0f} µs CPU/req", flush=True)
  finally:
    floor.stop(grace=1).wait()
  for batching in (False, True):
    options = ServerOptions(root, model_names=(model.name,), port=0, rest_port=0, poll_seconds=0,
                            num_threads=max(levels),
                            max_concurrent_requests=4 * max(levels), batching=BatchingOptions(
                                enabled=batching, max_batch_size=args.max_batch_size,
                                batch_timeout=args.batch_timeout_micros / 1e6,
                                num_threads=args.num_batch_threads))
    server = ModelServer(options).start()
    try:
      suffix = " +batching" if batching else ""
      for c in levels:
        stats = drive(f"gRPC{suffix}", f"localhost:{server.port}", PREDICT, grpc_request, c,
                      args.seconds, args.client_processes)
        rows.append((stats, batched if batching and c > 1 else base[c]))
        print(f"  {stats.label} c={c}: {stats.qps:.0f} QPS, p50 {stats.p50:.2f} ms", flush=True)
      if args.rest:
        for c in (levels[0], levels[-1]):
          stats = drive(f"REST{suffix}", f"localhost:{server.rest_port}",
                        f"/v1/models/{model.name}:predict", rest_request, c, args.seconds,
                        args.client_processes, protocol="rest")
          rows.append((stats, batched if batching and c > 1 else base[c]))
          print(f"  {stats.label} c={c}: {stats.qps:.0f} QPS, p50 {stats.p50:.2f} ms", flush=True)
    finally:
      server.stop(grace=5)
  print()
  print(f"model {model.name}; load average at end {_loadavg()}")
  print(_table(rows, args.markdown))
  print()
  print(_cpu_ratios(rows))
  top = [s for s, b in rows if s.label == "gRPC +batching" and s.concurrency == max(levels)]
  if top and top[0].qps:
    s = top[0]
    print(f"\nCPU per request, gRPC +batching at {s.concurrency} clients: server {s.cpu_us:.0f} µs "
          f"(in-process batched: {batched.cpu_us:.0f} µs per row) + clients {s.client_cpu_us:.0f} µs. "
          f"Where the cores are the limit, the QPS ratio can reach at most "
          f"{batched.cpu_us:.0f} / ({s.cpu_us:.0f} + {s.client_cpu_us:.0f}) = "
          f"{batched.cpu_us / (s.cpu_us + s.client_cpu_us):.2f} on this machine.")
  errors = [s for s, _ in rows if s.errors]
  for s in errors:
    print(f"errors in {s.label} c={s.concurrency}: {s.errors} e.g. {s.samples}")


def soak(args, root: str, model: BenchModel) -> int:
  """Fixed load for --soak_seconds, reported per window; returns the error count."""
  grpc_request, _ = _request_bytes(model)
  server = ModelServer(ServerOptions(
      root, model_names=(model.name,), port=0, rest_port=0, poll_seconds=1.0,
      batching=BatchingOptions(
          enabled=True, max_batch_size=args.max_batch_size,
          batch_timeout=args.batch_timeout_micros / 1e6))).start()
  rows, total_errors, elapsed = [], 0, 0.0
  try:
    while elapsed < args.soak_seconds:
      window = min(args.soak_window_seconds, args.soak_seconds - elapsed)
      stats = drive(f"soak t={elapsed:.0f}s", f"localhost:{server.port}", PREDICT, grpc_request,
                    args.soak_concurrency, window, args.client_processes)
      rows.append(stats)
      total_errors += stats.errors
      elapsed += window
      rss_mb = _rss_mb()
      print(f"  {stats.label}: {stats.qps:.0f} QPS p50 {stats.p50:.2f} ms p99 {stats.p99:.2f} ms "
            f"errors {stats.errors} server RSS {rss_mb:.0f} MB", flush=True)
  finally:
    server.stop(grace=5)
  print(_table([(s, s) for s in rows], args.markdown))
  print(f"soak: {args.soak_seconds:.0f} s at concurrency {args.soak_concurrency}, "
        f"{sum(s.qps * args.soak_window_seconds for s in rows):.0f} requests, {total_errors} errors")
  return total_errors


def _loadavg() -> str:
  return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _rss_mb() -> float:
  for line in pathlib.Path("/proc/self/status").read_text().splitlines():
    if line.startswith("VmRSS:"):
      return int(line.split()[1]) / 1024
  return float("nan")


def main(argv=None) -> int:
  argv = sys.argv[1:] if argv is None else list(argv)
  if "--recommend" in argv:  # the Recommendation API's benchmark takes the other flags
    from serving.recommendation import bench as recommend_bench  # lazy: only --recommend uses it
    return recommend_bench.main([a for a in argv if a != "--recommend"])
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--recommend", action="store_true",
                 help="run the Recommend benchmark (serving/recommendation/bench.py) instead")
  p.add_argument("--model", choices=sorted(_models()), default="affine",
                 help="affine: ~0 compute, measures overhead; mlp: a 2.2 M-parameter ranking MLP; "
                      "resnet20, resnet50: vision exports read from --export_root")
  p.add_argument("--export_root", default=None,
                 help="where `bazel run //vision:bench_exports -- --export_root=DIR` published "
                      "resnet20/resnet50 (local or gs://); affine and mlp are built by the bench")
  p.add_argument("--concurrency", default="1,4,16,64", help="comma-separated levels")
  p.add_argument("--seconds", type=float, default=5.0, help="measured seconds per level")
  p.add_argument("--client_processes", type=int, default=2)
  p.add_argument("--max_batch_size", type=int, default=32)
  p.add_argument("--batch_timeout_micros", type=int, default=1000)
  p.add_argument("--num_batch_threads", type=int, default=1)
  p.add_argument("--rest", action="store_true", help="also drive the REST front")
  p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
  p.add_argument("--soak_seconds", type=float, default=0.0, help="> 0: run the soak instead")
  p.add_argument("--soak_concurrency", type=int, default=8)
  p.add_argument("--soak_window_seconds", type=float, default=60.0)
  args = p.parse_args(argv)
  model = _models()[args.model]
  if model.publish is None:
    served_version(args.export_root, model)  # a missing export fails here, before any work
  elif args.export_root:
    p.error(f"--export_root is for the vision models; --model={model.name} is published by the "
            "benchmark itself")
  with tempfile.TemporaryDirectory() as tmp:
    root = args.export_root
    if model.publish is not None:
      root = tmp
      model.publish(pathlib.Path(tmp), 1)
    if args.soak_seconds > 0:
      return 1 if soak(args, root, model) else 0
    benchmark(args, root, model)
  return 0


if __name__ == "__main__":
  sys.exit(main())
