"""FLOP counts worked out by hand on tiny models, and the matmul ceiling's arithmetic."""

import pytest
import tensorflow as tf

from common.distribute import flops


def _tiny():
  images = tf.keras.Input((8, 8, 3))
  # 3x3 conv, 3 -> 4 channels, stride 2, same padding: 4x4 outputs x 3*3*3*4 = 108 MACs each.
  x = tf.keras.layers.Conv2D(4, 3, strides=2, padding="same")(images)
  x = tf.keras.layers.BatchNormalization()(x)  # not counted
  x = tf.keras.layers.GlobalAveragePooling2D()(x)
  logits = tf.keras.layers.Dense(5)(x)  # 4 * 5 = 20 MACs
  return tf.keras.Model(images, logits)


def test_conv_and_dense_counted_by_hand():
  model = _tiny()
  # 2 x (16 * 108 + 20) = 2 x 1748
  assert flops.forward_flops(model) == 3496
  assert flops.training_flops(model) == 3 * 3496


def test_nested_models_and_dense_over_positions_are_counted():
  inner = _tiny()
  sequence = tf.keras.Input((7, 6))
  # A Dense on [batch, 7, 6] runs at each of the 7 positions: 7 * 6 * 2 = 84 MACs.
  tokens = tf.keras.Model(sequence, tf.keras.layers.Dense(2)(sequence))
  images = tf.keras.Input((8, 8, 3))
  outer = tf.keras.Model(images, tf.keras.layers.Dense(1)(inner(images)))  # + 5 MACs
  assert flops.forward_flops(outer) == 3496 + 2 * 5
  assert flops.forward_flops(tokens) == 2 * 84


def test_transposed_conv_counts_input_positions():
  images = tf.keras.Input((4, 4, 2))
  up = tf.keras.Model(images, tf.keras.layers.Conv2DTranspose(3, 2, strides=2)(images))
  # Each of the 4x4 inputs meets the 2*2*2*3 = 24-weight kernel once: 16 * 24 MACs.
  assert flops.forward_flops(up) == 2 * 16 * 24


def test_an_unbuilt_model_is_explained():
  model = tf.keras.Sequential([tf.keras.layers.Dense(3)])
  with pytest.raises(ValueError, match=r"is not built.*call it on a batch"):
    flops.forward_flops(model)


def test_matmul_ceiling_is_a_positive_rate():
  rate = flops.matmul_gflops(tf.float32, n=64, repeats=2)
  assert rate > 0.0
