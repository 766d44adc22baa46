"""Batch prediction bench: the Beam pipeline against a plain in-process batched loop, same export,
same input file, and the pipeline's peak memory at two input sizes.

    bazel run //tools:batch_bench                      # the README table (defaults)
    bazel run //tools:batch_bench -- --users=10000 --images=200 --memory_rows=1000,10000  # quick

Workloads (issue 17):
  recsys  --users user histories (5 recent items each) → top 10 of --items items, through a
          `recommend` export: brute force over a --items x 32 table (the shape of trellis's
          recsys export; synthetic weights, since the cost is the same untrained), CSV in/out.
  vision  --images encoded PNGs (the tiny shop world's item pictures, cycled) → class and
          embedding, through the vision demo's real ResNet-20 export (vision/demo.py, trained
          one epoch on the tiny world: the compute of a trained model), TFRecord in, JSONL out.
Each run is its own child process (so peak RSS is that run's alone) and includes reading the
input, loading the export and writing the output. The Beam pipeline runs on DirectRunner with
2 worker threads; the loop runs in one thread with the same handler and batch size. The
memory rows run the recsys pipeline on --memory_rows inputs and compare peak RSS (aim: the
largest within 1.5x of the smallest).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from common.export import publish
from common.shopworld import world as shopworld
from tools import batch_predict
from tools.batch import export_reader, formats, loop

HISTORY, DIM, K = 8, 32, 10


def _cpu() -> str:
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or "unknown CPU"


# -- the exports and inputs ----------------------------------------------------------------------
def publish_recsys(export_root: pathlib.Path, items: int) -> str:
  """A `recommend` export in trellis's recsys contract: mean of the history's vectors, top k."""
  import tensorflow as tf

  rng = np.random.default_rng(0)
  ids = np.array([f"item_{i:07d}" for i in range(items)])
  table = (rng.normal(size=(items, DIM)) / np.sqrt(DIM)).astype(np.float32)

  class Recommender(tf.Module):
    def __init__(self):
      super().__init__()
      self.table = tf.Variable(table, trainable=False)
      self.ids = tf.constant(ids)
      self.index = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
          self.ids, tf.range(items, dtype=tf.int64)), -1)

    @tf.function
    def recommend(self, user_id, history_ids, history_times, timestamp, k):
      del user_id, history_times, timestamp
      rows = self.index.lookup(history_ids)
      vecs = tf.gather(self.table, tf.maximum(rows, 0)) * tf.cast(rows >= 0, tf.float32)[..., None]
      q = tf.reduce_sum(vecs, 1) / tf.maximum(tf.reduce_sum(tf.cast(rows >= 0, tf.float32), 1,
                                                            keepdims=True), 1.0)
      scores = tf.matmul(q, self.table, transpose_b=True)
      top = tf.math.top_k(scores, k)
      return {"item_ids": tf.gather(self.ids, top.indices), "scores": top.values,
              "rank_scores": top.values}

  module = Recommender()
  spec = dict(user_id=tf.TensorSpec([None], tf.string, name="user_id"),
              history_ids=tf.TensorSpec([None, None], tf.string, name="history_ids"),
              history_times=tf.TensorSpec([None, None], tf.int64, name="history_times"),
              timestamp=tf.TensorSpec([None], tf.int64, name="timestamp"),
              k=tf.TensorSpec([], tf.int32, name="k"))
  with tempfile.TemporaryDirectory() as tmp:
    ids_path = pathlib.Path(tmp) / "item_ids.txt"
    ids_path.write_text("\n".join(ids) + "\n")
    return str(publish.export_saved_model(
        module, {"recommend": module.recommend.get_concrete_function(**spec)},
        export_root=export_root, model_name="bench_recsys", domain="recsys",
        assets={"item_ids.txt": str(ids_path)}, extra_metadata={"max_history": HISTORY}))


def write_users(path: pathlib.Path, users: int, items: int) -> None:
  rng = np.random.default_rng(1)
  with open(path, "w") as f:
    f.write("user_id,history,timestamp\n")
    for u in range(users):
      history = " ".join(f"item_{i:07d}" for i in rng.integers(0, items, 5))
      f.write(f"user_{u:07d},{history},1700000000\n")


def publish_vision(workdir: pathlib.Path) -> tuple[str, pathlib.Path]:
  """The vision demo's ResNet-20, one epoch on the tiny shop world; (export dir, world dir)."""
  # lazy: the measured runs import this file; the vision trainer stays out of their memory
  from vision import demo

  world_dir = workdir / "world"
  shopworld.generate(seed=0, size="tiny").write(world_dir, overwrite=True)
  result = demo.run(str(workdir / "vision"), str(world_dir), epochs=1)
  return result.extras["export_dir"], world_dir


def write_images(path: pathlib.Path, world_dir: pathlib.Path, images: int) -> None:
  import tensorflow as tf

  pictures = sorted((world_dir / "images").glob("*/*.png"))
  blobs = [p.read_bytes() for p in pictures]
  with tf.io.TFRecordWriter(str(path)) as w:
    for i in range(images):
      w.write(formats.to_example({"key": f"img_{i:06d}", "image/encoded": blobs[i % len(blobs)]}))


# -- one measured run (a child process) ----------------------------------------------------------
def _child(kind: str, export_dir: str, input_path: str, output: str, batch_size: int) -> dict:
  start = time.perf_counter()
  if kind == "beam":
    found = batch_predict.run([f"--export_dir={export_dir}", f"--input={input_path}",
                               f"--output={output}", f"--batch_size={batch_size}", f"--k={K}",
                               "--request_time=1700000000", "--output_format=" + (
                                   "jsonl" if input_path.endswith(".tfrecord") else "csv")])
    rows = found["inputs"]
  else:
    rows = _plain_loop(export_dir, input_path, output, batch_size)
  seconds = time.perf_counter() - start
  return {"rows": rows, "seconds": seconds, "peak_mb": _peak_mb()}


def _peak_mb() -> float:
  """This process's peak RSS. Not getrusage's ru_maxrss: Linux carries that over fork and exec,
  so a child would report its parent's peak; VmHWM belongs to this process's own memory map."""
  try:
    with open("/proc/self/status") as f:
      for line in f:
        if line.startswith("VmHWM:"):
          return int(line.split()[1]) / 1024
  except OSError:
    pass
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _plain_loop(export_dir: str, input_path: str, output: str, batch_size: int) -> int:
  """Read → score (tools/batch/loop.py) → write, in this thread: the floor Beam adds overhead to."""
  import tensorflow as tf

  args, _ = batch_predict.parse([f"--export_dir={export_dir}", f"--input={input_path}",
                                 f"--output={output}", f"--k={K}", "--request_time=1700000000"])
  job = batch_predict.make_job(args)
  loaded = export_reader.load(job.version_dir)
  if input_path.endswith(".tfrecord"):
    records = (formats.parse_example(r) for r in
               tf.data.TFRecordDataset(input_path).as_numpy_iterator())
    out_path, to_line = output + ".jsonl", formats.to_json_line
  else:
    def csv_records():
      with open(input_path, "rb") as f:
        header = formats.parse_csv_header(f.readline())
        for line in f:
          yield formats.parse_csv_line(line, header)
    records = csv_records()
    fields = list(job.handler.output_fields)
    out_path, to_line = output + ".csv", lambda r: formats.to_csv_line(r, fields)
  rows = 0
  with open(out_path, "w") as f:
    for key, answer in loop.score(job.handler, loaded, records, batch_size):
      rows += 1
      for record in job.handler.rows(key, answer):
        f.write(to_line(record) + "\n")
  return rows


def _measure(kind: str, export_dir: str, input_path: pathlib.Path, out_dir: pathlib.Path,
             batch_size: int) -> dict:
  out = out_dir / f"{kind}-{input_path.stem}"
  cmd = [sys.executable, __file__, "--_child", kind, export_dir, str(input_path), str(out),
         str(batch_size)]
  env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
  done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
  if done.returncode != 0:
    raise RuntimeError(f"{kind} run failed:\n{done.stderr[-3000:]}")
  return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
  if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--_child":
    _, _, kind, export_dir, input_path, output, batch_size = sys.argv
    print(json.dumps(_child(kind, export_dir, input_path, output, int(batch_size))))
    return 0
  p = argparse.ArgumentParser(prog="batch_bench", description=__doc__.splitlines()[0])
  p.add_argument("--users", type=int, default=100_000)
  p.add_argument("--items", type=int, default=10_000)
  p.add_argument("--images", type=int, default=2_000)
  p.add_argument("--memory_rows", default="10000,1000000",
                 help="recsys input sizes whose pipeline peak memory is compared")
  p.add_argument("--batch_size", type=int, default=256)
  p.add_argument("--workdir", default="", help="keep inputs/outputs here (default: a temp dir)")
  args = p.parse_args(argv)
  memory_rows = [int(x) for x in args.memory_rows.split(",") if x]
  if min(args.users, args.items, args.images, *memory_rows) < 1 or args.items < K:
    p.error(f"sizes must be positive and --items at least k={K}")
  with tempfile.TemporaryDirectory() as tmp:
    work = pathlib.Path(args.workdir or tmp)
    work.mkdir(parents=True, exist_ok=True)
    print(f"CPU: {_cpu()} ({os.cpu_count()} cores); Beam DirectRunner, 2 worker threads; "
          f"batch {args.batch_size}", flush=True)
    recsys_export = publish_recsys(work / "exports", args.items)
    vision_export, world_dir = publish_vision(work)
    users_csv = work / f"users_{args.users}.csv"
    write_users(users_csv, args.users, args.items)
    images = work / f"images_{args.images}.tfrecord"
    write_images(images, world_dir, args.images)

    rows = []
    for name, export, path in [(f"recsys: {args.users:,} users -> top {K} of {args.items:,}",
                                recsys_export, users_csv),
                               (f"vision: {args.images:,} images -> class + embedding",
                                vision_export, images)]:
      loop_run = _measure("loop", export, path, work, args.batch_size)
      beam_run = _measure("beam", export, path, work, args.batch_size)
      rows.append((name, loop_run, beam_run))
      print(f"  measured {name}: loop {loop_run}, Beam {beam_run}", flush=True)
    memory = []
    for n in memory_rows:
      path = work / f"users_{n}.csv"
      if not path.exists():
        write_users(path, n, args.items)
      memory.append((n, _measure("beam", recsys_export, path, work, args.batch_size)))
      print(f"  measured Beam at {n:,} rows: {memory[-1][1]}", flush=True)

  print("\n| workload | plain loop rows/s | Beam rows/s | Beam / loop | loop peak MB | Beam peak MB |")
  print("|---|---:|---:|---:|---:|---:|")
  for name, loop_run, beam_run in rows:
    lr, br = (r["rows"] / r["seconds"] for r in (loop_run, beam_run))
    print(f"| {name} | {lr:,.0f} | {br:,.0f} | {br / lr:.2f}x | {loop_run['peak_mb']:,.0f} | "
          f"{beam_run['peak_mb']:,.0f} |")
  print("\n| recsys pipeline input rows | seconds | rows/s | peak MB | peak / smallest |")
  print("|---:|---:|---:|---:|---:|")
  for n, run in memory:
    print(f"| {n:,} | {run['seconds']:,.1f} | {run['rows'] / run['seconds']:,.0f} | "
          f"{run['peak_mb']:,.0f} | {run['peak_mb'] / memory[0][1]['peak_mb']:.2f}x |")
  return 0


if __name__ == "__main__":
  sys.exit(main())
