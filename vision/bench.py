"""Training speed on this CPU: `bazel run //vision:bench [-- --batch_size=32 --steps=5]`.

For ResNet-20 at 32x32 and ResNet-50 at 224x224, in float32 and mixed_bfloat16, it
times full training steps (forward, backward, SGD update; `train_on_batch` on one
in-memory batch, so the input pipeline is not measured) and prints images/s beside
`tf.keras.applications.ResNet50` on the same input in the same run, the achieved
GFLOP/s (3 x forward FLOPs per image: forward + two backward matmuls per layer) and
that as a share of the measured 4096x4096 matmul ceiling of the same precision.

Precisions: float32 and mixed_bfloat16, each as it is and compiled with XLA (`jit_compile=True`).
The header names the CPU and whether it has bfloat16 arithmetic (AVX-512 BF16 / AMX): without
it bfloat16 is emulated and cannot beat float32 (common/distribute/cpu.py).

Each configuration runs `warmup` untimed steps (tracing, oneDNN kernel selection),
then `steps` timed ones; the table reports the fastest step, because on a shared
machine the fastest step is the one least slowed by other processes (the median is
printed too).
"""

import time

import numpy as np
import tensorflow as tf
from absl import app, flags

from common.distribute import cpu, flops
from vision import models

_BATCH = flags.DEFINE_integer("batch_size", 32, "images per training step")
_STEPS = flags.DEFINE_integer("steps", 5, "timed steps per configuration")
_WARMUP = flags.DEFINE_integer("warmup", 2, "untimed steps per configuration")
_ONLY = flags.DEFINE_list("only", [], "run only these rows (e.g. resnet50); default: all")
PRECISIONS = ("float32", "mixed_bfloat16", "float32+xla", "mixed_bfloat16+xla")
_PRECISIONS = flags.DEFINE_list("precisions", list(PRECISIONS), f"any of {PRECISIONS}")


def _keras_resnet50(num_classes, image_size):
  # Keras Applications' ResNet-50 (v1: stride in the first 1x1, biases on convs), its own
  # preprocessing left out; our model's in-graph normalisation is a negligible cost.
  return tf.keras.applications.ResNet50(weights=None, classes=num_classes,
                                        input_shape=(image_size, image_size, 3),
                                        classifier_activation=None)


def time_training(build, image_size: int, precision: str, batch_size: int, steps: int,
                  warmup: int, num_classes: int = 1000):
  """(best, median) seconds per training step, and forward FLOPs per image."""
  tf.keras.backend.clear_session()
  policy, _, xla = precision.partition("+")
  tf.keras.mixed_precision.set_global_policy(policy)
  try:
    model = build(num_classes, image_size)
    model.compile(tf.keras.optimizers.SGD(0.01, momentum=0.9),
                  tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=bool(xla))
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(0, 255, (batch_size, image_size, image_size, 3)), tf.float32)
    y = tf.constant(rng.integers(0, num_classes, batch_size), tf.int64)
    for _ in range(warmup):
      model.train_on_batch(x, y)
    times = []
    for _ in range(steps):
      start = time.perf_counter()
      model.train_on_batch(x, y)
      times.append(time.perf_counter() - start)
    return min(times), float(np.median(times)), flops.forward_flops(model)
  finally:
    tf.keras.mixed_precision.set_global_policy("float32")


def _ours(name):
  def build(num_classes, image_size):
    return models.create(name, models.ModelConfig(num_classes=num_classes, image_size=image_size))
  return build


ROWS = [
    # (row name, builder, image size, classes)
    ("resnet20", _ours("ResNet20"), 32, 10),
    ("resnet50", _ours("ResNet50"), 224, 1000),
    ("keras_resnet50", _keras_resnet50, 224, 1000),
]


def main(argv):
  del argv
  unknown = set(_PRECISIONS.value) - set(PRECISIONS)
  if unknown or "float32" not in _PRECISIONS.value:
    raise app.UsageError(f"--precisions={','.join(_PRECISIONS.value)}: choose from {PRECISIONS}, "
                         "float32 included (the other rows are reported relative to it)")
  print(f"CPU: {cpu.describe()}")
  print(f"TensorFlow {tf.__version__}; {len(tf.config.list_physical_devices('CPU'))} CPU device(s), "
        f"intra-op threads {tf.config.threading.get_intra_op_parallelism_threads() or 'auto'}")
  ceiling = {"float32": flops.matmul_gflops(tf.float32, repeats=10),
             "mixed_bfloat16": flops.matmul_gflops(tf.bfloat16, repeats=10)}
  ceiling["float32+xla"], ceiling["mixed_bfloat16+xla"] = ceiling["float32"], ceiling["mixed_bfloat16"]
  print(f"matmul 4096² ceiling: float32 {ceiling['float32']:.0f} GFLOP/s, "
        f"bfloat16 {ceiling['mixed_bfloat16']:.0f} GFLOP/s")
  results = {}
  for name, build, size, classes in ROWS:
    if _ONLY.value and name not in _ONLY.value:
      continue
    for precision in _PRECISIONS.value:
      best, median, forward = time_training(build, size, precision, _BATCH.value, _STEPS.value,
                                            _WARMUP.value, classes)
      ips = _BATCH.value / best
      gflops = ips * flops.TRAINING_PASSES * forward / 1e9
      results[name, precision] = ips
      print(f"  {name:15s} {precision:19s} {ips:8.1f} img/s (median step {median:.2f} s)",
            flush=True)
      results[name, precision, "gflops"] = gflops
  header = (f"{'model':16s}{'input':>9s}{'precision':>20s}{'img/s':>9s}{'vs fp32':>9s}"
            f"{'vs keras':>10s}{'GFLOP/s':>9s}{'% ceiling':>11s}")
  print("\ntraining throughput, batch", _BATCH.value)
  print(header)
  print("-" * len(header))
  for name, _, size, _ in ROWS:
    for precision in PRECISIONS:
      if (name, precision) not in results:
        continue
      ips = results[name, precision]
      vs_fp32 = ips / results[name, "float32"]
      keras = results.get(("keras_resnet50", precision))
      vs_keras = f"{ips / keras:.2f}x" if keras and size == 224 else "—"
      gflops = results[name, precision, "gflops"]
      print(f"{name:16s}{f'{size}x{size}':>9s}{precision:>20s}{ips:9.1f}{vs_fp32:8.2f}x"
            f"{vs_keras:>10s}{gflops:9.0f}{100 * gflops / ceiling[precision]:10.0f}%")


if __name__ == "__main__":
  app.run(main)
