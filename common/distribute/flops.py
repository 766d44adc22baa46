"""FLOPs: how many a Keras model needs per example, and how many this machine does per second.

The benches (`//vision:bench`, `//common/distribute:bench`) report achieved GFLOP/s beside the
measured rate of one large matmul, the ceiling any dense network can reach on this CPU:

    gflops = examples_per_second * flops.training_flops(model) / 1e9
    share = gflops / flops.matmul_gflops(tf.float32)

A model's FLOPs are counted from its layer shapes, as papers quote them: the multiply-adds of the
Conv2D and Dense layers x 2 (ResNet-50 v1.5 at 224² ≈ 4.1 GMACs, i.e. ≈ 8.2 GFLOPs forward).
Batch norm, activations and pooling are left out as negligible. Training is counted as 3 x the
forward pass: the forward product plus two backward products per layer (the gradients with
respect to the inputs and to the weights).
"""

import math
import time

import tensorflow as tf

# Forward + two backward products (d/dinput, d/dweights) of every conv and dense layer.
TRAINING_PASSES = 3


def _layers(model: tf.keras.Model):
  """Every layer of `model`, nested models opened up (a backbone inside a classifier counts)."""
  for layer in model.layers:
    if isinstance(layer, tf.keras.Model):
      yield from _layers(layer)
    else:
      yield layer


def forward_flops(model: tf.keras.Model) -> int:
  """FLOPs of one example's forward pass through the model's Conv2D and Dense layers.

  A Conv2D does `kh * kw * c_in * c_out` multiply-adds at each output position (grouped convs
  included: their kernel's `c_in` is per group); a Dense does `c_in * c_out` at each position of
  its input (one, for a [batch, features] input).

  Raises:
    ValueError: the model is not built (its layers have no shapes yet); call it on an input or
      give it an `Input` first.
  """
  total = 0
  for layer in _layers(model):
    if not isinstance(layer, tf.keras.layers.Conv2D | tf.keras.layers.Dense):
      continue
    if not layer.built:
      raise ValueError(f"layer {layer.name} of {model.name} is not built, so it has no shapes to "
                       "count FLOPs from; build the model (call it on a batch) first")
    multiply_adds = math.prod(layer.kernel.shape)
    if isinstance(layer, tf.keras.layers.Conv2DTranspose):  # the kernel slides over the input
      _, height, width, _ = layer.input.shape
      positions = height * width
    elif isinstance(layer, tf.keras.layers.Conv2D):
      _, height, width, _ = layer.output.shape
      positions = height * width
    else:
      positions = math.prod(layer.output.shape[1:-1])
    total += 2 * multiply_adds * positions
  return int(total)


def training_flops(model: tf.keras.Model) -> int:
  """FLOPs of one example's training step: `TRAINING_PASSES` x the forward pass."""
  return TRAINING_PASSES * forward_flops(model)


def matmul_gflops(dtype: tf.DType = tf.float32, n: int = 4096, repeats: int = 5) -> float:
  """Best-of-`repeats` GFLOP/s of one n x n x n matmul in `dtype`: this machine's dense ceiling.

  The best run, not the mean: on a shared machine the fastest is the one least slowed by others.
  """
  a = tf.cast(tf.random.uniform([n, n], dtype=tf.float32), dtype)
  b = tf.transpose(a)
  matmul = tf.function(lambda x, y: tf.matmul(x, y))
  matmul(a, b).numpy()
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    matmul(a, b).numpy()
    best = min(best, time.perf_counter() - start)
  return 2 * n**3 / best / 1e9
