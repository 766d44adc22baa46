"""Benchmark: training throughput of a ResNet-20 step under each engine, beside the matmul ceiling.

    bazel run //common/distribute:bench                      # all rows, ~3 min on 2 cores
    bazel run //common/distribute:bench -- --steps=40 --global_batch_size=128

Rows (each in a fresh process, because the logical-device split, the precision policy and the
collective runtime are fixed when TensorFlow starts):

* default float32 (the reference), default mixed_bfloat16,
* mirrored over 2 logical CPU devices, float32,
* multi_worker: 2 processes on 127.0.0.1 started by the launcher, float32,
* horovod: 2 processes started by `horovodrun -np 2 --gloo` on localhost (the launcher's
  `--backend horovod`), `hvd.DistributedOptimizer` and the initial broadcast, float32.

The workload is a CIFAR-style ResNet-20 (3 stages × 3 basic blocks, 16/32/64 filters, batch norm)
on 32×32×3 random images, SGD with momentum, `steps_per_execution` as configured. Throughput is
global examples per second over the timed steps after warm-up. Achieved GFLOP/s counts the
convolution and dense multiply-adds of the forward pass × 3 (forward + two backward products) and
is shown against this machine's measured 4096² matmul rate in float32 and bfloat16, the ceiling
for any of these rows on this CPU.
"""

import json
import os
import pathlib
import subprocess
import sys
import time

import numpy as np
import tensorflow as tf
from absl import app, flags

import common
from common.distribute import config as distribute_config
from common.distribute import cpu, flops, horovod_backend
from common.distribute import strategy as strategy_lib

FLAGS = flags.FLAGS
flags.DEFINE_integer("global_batch_size", 64, "Examples per training step over all replicas.")
flags.DEFINE_integer("steps", 20, "Timed training steps per row.")
flags.DEFINE_integer("warmup_steps", 4, "Untimed steps first (tracing, allocation).")
flags.DEFINE_integer("blocks_per_stage", 3, "ResNet depth 6n+2: 3 = ResNet-20.")
flags.DEFINE_integer("steps_per_execution", 1, "distribution.steps_per_execution.")
flags.DEFINE_string("rows", "default,mirrored,multi_worker,horovod,bf16",
                    "Rows to run, comma-separated.")
flags.DEFINE_string("_row", None, "Internal: run one row in this process and print its JSON.")

REPO_ROOT = pathlib.Path(common.__file__).resolve().parent.parent
ROWS = {  # name: (kind, precision, extra)
    "default": ("default", "float32", {}),
    "bf16": ("default", "mixed_bfloat16", {}),
    "mirrored": ("mirrored", "float32", {"num_cpu_devices": 2}),
    "multi_worker": ("multi_worker", "float32", {}),
    "horovod": ("horovod", "float32", {}),
}
LABELS = {
    "default": "default, float32",
    "bf16": "default, mixed_bfloat16",
    "mirrored": "mirrored (2 logical CPUs), float32",
    "multi_worker": "multi_worker (2 processes), float32",
    "horovod": "horovod (2 processes, Gloo), float32",
}
LAUNCHED = {"multi_worker": "tf", "horovod": "horovod"}  # rows that run as 2 processes


def resnet(blocks_per_stage: int, num_classes: int = 10) -> tf.keras.Model:
  """CIFAR ResNet (He et al. 2016, §4.2): depth 6n+2 with basic blocks and projection shortcuts."""
  def conv_bn(x, filters, strides=1, relu=True):
    x = tf.keras.layers.Conv2D(filters, 3, strides, padding="same", use_bias=False)(x)
    x = tf.keras.layers.BatchNormalization()(x)
    return tf.keras.layers.ReLU()(x) if relu else x

  inputs = tf.keras.Input((32, 32, 3))
  x = conv_bn(inputs, 16)
  for stage, filters in enumerate((16, 32, 64)):
    for block in range(blocks_per_stage):
      strides = 2 if stage and not block else 1
      shortcut = x
      if strides != 1:
        shortcut = tf.keras.layers.Conv2D(filters, 1, strides, use_bias=False)(x)
        shortcut = tf.keras.layers.BatchNormalization()(shortcut)
      y = conv_bn(x, filters, strides)
      y = conv_bn(y, filters, relu=False)
      x = tf.keras.layers.ReLU()(tf.keras.layers.Add()([shortcut, y]))
  x = tf.keras.layers.GlobalAveragePooling2D()(x)
  outputs = tf.keras.layers.Dense(num_classes, dtype="float32")(x)
  return tf.keras.Model(inputs, outputs)


class _Timer(tf.keras.callbacks.Callback):
  def __init__(self, warmup_steps: int):
    super().__init__()
    self.warmup_steps, self.start, self.end, self.steps = warmup_steps, None, None, 0

  def on_train_batch_end(self, batch, logs=None):
    self.steps += 1
    if self.steps == self.warmup_steps:
      self.start = time.perf_counter()
    self.end = time.perf_counter()


def run_row(name: str) -> dict:
  """Trains the ResNet for warm-up + timed steps under row `name`'s engine; returns its rates."""
  kind, precision, extra = ROWS[name]
  cfg = distribute_config.get_config()
  cfg.kind, cfg.precision, cfg.steps_per_execution = kind, precision, FLAGS.steps_per_execution
  for key, value in extra.items():
    setattr(cfg, key, value)
  strategy = strategy_lib.create(cfg)
  global_batch = FLAGS.global_batch_size
  rng = np.random.default_rng(0)
  images = rng.uniform(size=(global_batch * 2, 32, 32, 3)).astype(np.float32)
  labels = rng.integers(0, 10, size=(global_batch * 2,)).astype(np.int32)

  def dataset_fn(ctx):
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).cache().repeat()
    return ds.batch(ctx.get_per_replica_batch_size(global_batch), drop_remainder=True).prefetch(2)

  with strategy.scope():
    model = resnet(FLAGS.blocks_per_stage)
    model.compile(tf.keras.optimizers.SGD(0.1, momentum=0.9),
                  tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  steps_per_execution=strategy_lib.steps_per_execution(cfg))
  callbacks = []
  if horovod_backend.is_active():  # what common/training/fit.py does for a domain's model
    horovod_backend.wrap_optimizer(model)
    callbacks = horovod_backend.callbacks()
  ds = strategy_lib.distribute(strategy, dataset_fn, global_batch)
  spe = strategy_lib.steps_per_execution(cfg)
  timer = _Timer(max(1, FLAGS.warmup_steps // spe))
  calls = timer.warmup_steps + max(1, FLAGS.steps // spe)
  model.fit(ds, epochs=1, steps_per_epoch=calls * spe, callbacks=[*callbacks, timer], verbose=0)
  seconds = timer.end - timer.start
  examples = (calls - timer.warmup_steps) * spe * global_batch
  return {"row": name, "examples_per_s": examples / seconds,
          "gflops": examples * flops.training_flops(model) / seconds / 1e9,
          "flops_per_example": flops.training_flops(model)}


def _child(args: list[str], workers: int = 0, backend: str = "tf") -> list[dict]:
  command = [sys.executable, "-m", "common.distribute.bench", *args]
  if workers:
    command = [sys.executable, "-m", "common.distribute.launch", "--workers", str(workers),
               "--backend", backend, "--", *command]
  env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), *sys.path]))
  done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO_ROOT)
  if done.returncode:
    raise SystemExit(f"bench: {' '.join(args)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
  return [json.loads(line.split("BENCH ", 1)[1]) for line in done.stdout.splitlines()
          if "BENCH " in line]


def main(argv):
  del argv
  flag_args = [f"--global_batch_size={FLAGS.global_batch_size}", f"--steps={FLAGS.steps}",
               f"--warmup_steps={FLAGS.warmup_steps}",
               f"--blocks_per_stage={FLAGS.blocks_per_stage}",
               f"--steps_per_execution={FLAGS.steps_per_execution}"]
  if FLAGS._row == "matmul":
    print("BENCH " + json.dumps({"row": "matmul", "float32": flops.matmul_gflops(tf.float32),
                                 "bfloat16": flops.matmul_gflops(tf.bfloat16)}), flush=True)
    return
  if FLAGS._row:
    result = run_row(FLAGS._row)
    if strategy_lib.is_chief():
      print("BENCH " + json.dumps(result), flush=True)
    return

  rows = [r.strip() for r in FLAGS.rows.split(",") if r.strip()]
  unknown = sorted(set(rows) - set(ROWS))
  if unknown:
    raise app.UsageError(f"--rows has unknown {unknown}; choose from {', '.join(ROWS)}.")
  print(f"ResNet-{6 * FLAGS.blocks_per_stage + 2}, 32×32×3, global batch "
        f"{FLAGS.global_batch_size}, {FLAGS.steps} timed steps after {FLAGS.warmup_steps} warm-up; "
        f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} at start", flush=True)
  print(f"CPU: {cpu.describe()}", flush=True)
  (ceiling,) = _child(["--_row=matmul"])
  results = {}
  for row in rows:
    print(f"  running {LABELS[row]} ...", flush=True)
    (results[row],) = _child([*flag_args, f"--_row={row}"], workers=2 if row in LAUNCHED else 0,
                             backend=LAUNCHED.get(row, "tf"))
  print(f"\nmatmul 4096² ceiling: {ceiling['float32']:.0f} GFLOP/s float32, "
        f"{ceiling['bfloat16']:.0f} GFLOP/s bfloat16 ({ceiling['bfloat16'] / ceiling['float32']:.2f}×)")
  base = results.get("default")
  print("\n| engine | examples/s | vs default | achieved GFLOP/s | % of matmul ceiling |")
  print("|---|---:|---:|---:|---:|")
  for row in rows:
    r = results[row]
    peak = ceiling["bfloat16" if row == "bf16" else "float32"]
    ratio = f"{r['examples_per_s'] / base['examples_per_s']:.2f}×" if base else "–"
    print(f"| {LABELS[row]} | {r['examples_per_s']:.0f} | {ratio} | {r['gflops']:.1f} | "
          f"{100 * r['gflops'] / peak:.1f}% |")
  if base and "bf16" in results:
    print(f"\nmixed_bfloat16 vs float32 speed-up: "
          f"{results['bf16']['examples_per_s'] / base['examples_per_s']:.2f}× "
          f"(matmul ceiling ratio {ceiling['bfloat16'] / ceiling['float32']:.2f}×)")
  print(f"training FLOPs per example: {next(iter(results.values()))['flops_per_example'] / 1e6:.0f} M")


if __name__ == "__main__":
  app.run(main)
