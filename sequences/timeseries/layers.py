"""Building blocks shared by the forecasters: instance normalisation, decomposition, patches.

All layers take and return [batch, time, channels] tensors unless said otherwise.
"""

from __future__ import annotations

import tensorflow as tf


class InstanceNorm(tf.keras.layers.Layer):
  """RevIN (Kim et al., ICLR 2022): normalise each window by its own mean and std, undo at the end.

  ETT's level drifts over two years, so the test period sits at levels the training period rarely
  saw; subtracting each window's own statistics lets a model learn shapes, not levels, and it is
  the single largest gain of the linear and patch models on ETT. `normalize` stores the statistics
  of the current window on the layer for the matching `denormalize` in the same `call`.

  Args:
    channels: number of channels (the weights are made here: `normalize` is not `__call__`).
    affine: learn a per-channel scale and shift applied after normalising (RevIN's affine).
    eps: added to the variance, so a constant window stays finite.
  """

  def __init__(self, channels: int, affine: bool = True, eps: float = 1e-5, **kwargs):
    super().__init__(**kwargs)
    self.channels = channels
    self.affine = affine
    self.eps = eps
    if affine:
      self.gamma = self.add_weight(name="gamma", shape=(channels,), initializer="ones")
      self.beta = self.add_weight(name="beta", shape=(channels,), initializer="zeros")
    self.built = True  # weights exist; Keras would otherwise call this layer "not built" on save

  def normalize(self, x):
    """x [B, L, C] -> (normalised x, (mean, std)) with mean/std [B, 1, C]."""
    mean = tf.reduce_mean(x, axis=1, keepdims=True)
    std = tf.sqrt(tf.math.reduce_variance(x, axis=1, keepdims=True) + self.eps)
    z = (x - mean) / std
    if self.affine:
      z = z * self.gamma + self.beta
    return z, (mean, std)

  def denormalize(self, y, stats):
    mean, std = stats
    if self.affine:
      y = (y - self.beta) / (self.gamma + self.eps)
    return y * std + mean

  def get_config(self):
    return {**super().get_config(), "channels": self.channels, "affine": self.affine,
            "eps": self.eps}


class MovingAverage(tf.keras.layers.Layer):
  """Centred moving average over time with edge replication (DLinear's `series_decomp` trend).

  Replicating the first/last value keeps the output as long as the input, so
  `x - MovingAverage(k)(x)` is the seasonal remainder at every step.
  """

  def __init__(self, kernel_size: int = 25, **kwargs):
    super().__init__(**kwargs)
    if kernel_size < 1 or kernel_size % 2 == 0:
      raise ValueError(f"moving-average kernel_size must be odd and >= 1, got {kernel_size}")
    self.kernel_size = kernel_size

  def call(self, x):
    half = (self.kernel_size - 1) // 2
    front = tf.repeat(x[:, :1], half, axis=1)
    back = tf.repeat(x[:, -1:], half, axis=1)
    padded = tf.concat([front, x, back], axis=1)
    return tf.nn.avg_pool1d(padded, ksize=self.kernel_size, strides=1, padding="VALID")

  def get_config(self):
    return {**super().get_config(), "kernel_size": self.kernel_size}


def to_channel_sequences(x):
  """[B, L, C] -> [B * C, L, 1]: one univariate series per (example, channel).

  Channel independence (PatchTST) shares all weights across channels: 7 channels give 7× the
  training series and no cross-channel overfitting, which is why it wins on ETT.
  """
  b, length, c = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
  return tf.reshape(tf.transpose(x, [0, 2, 1]), [b * c, length, 1])


def from_channel_sequences(y, batch, channels):
  """[B * C, H] -> [B, H, C] (inverse of `to_channel_sequences` for a forecast)."""
  return tf.transpose(tf.reshape(y, [batch, channels, -1]), [0, 2, 1])


class Patches(tf.keras.layers.Layer):
  """Cuts univariate series [N, L, 1] into patches [N, P, patch_len] (PatchTST).

  Like PatchTST, the end is padded by repeating the last value `stride` times, so the most recent
  values start a patch of their own: P = (L - patch_len) // stride + 2.
  """

  def __init__(self, patch_len: int, stride: int, **kwargs):
    super().__init__(**kwargs)
    self.patch_len = patch_len
    self.stride = stride

  @staticmethod
  def count(lookback: int, patch_len: int, stride: int) -> int:
    if lookback < patch_len:
      raise ValueError(f"lookback {lookback} is shorter than one patch ({patch_len})")
    return (lookback - patch_len) // stride + 2

  def call(self, x):
    x = tf.squeeze(x, -1)
    x = tf.concat([x, tf.repeat(x[:, -1:], self.stride, axis=1)], axis=1)
    return tf.signal.frame(x, self.patch_len, self.stride, axis=-1)

  def get_config(self):
    return {**super().get_config(), "patch_len": self.patch_len, "stride": self.stride}


class TransformerEncoderBlock(tf.keras.layers.Layer):
  """Pre-norm Transformer encoder block: self-attention and a GELU feed-forward, both residual."""

  def __init__(self, d_model: int, heads: int, ff_dim: int, dropout: float = 0.0, **kwargs):
    super().__init__(**kwargs)
    self.attn = tf.keras.layers.MultiHeadAttention(heads, d_model // heads, dropout=dropout)
    self.ff = tf.keras.Sequential([
        tf.keras.layers.Dense(ff_dim, activation="gelu"),
        tf.keras.layers.Dropout(dropout),
        tf.keras.layers.Dense(d_model),
    ])
    self.norm1 = tf.keras.layers.LayerNormalization()
    self.norm2 = tf.keras.layers.LayerNormalization()
    self.drop = tf.keras.layers.Dropout(dropout)

  def call(self, x, attention_mask=None, training=None):
    h = self.norm1(x)
    x = x + self.drop(self.attn(h, h, attention_mask=attention_mask, training=training),
                      training=training)
    return x + self.drop(self.ff(self.norm2(x), training=training), training=training)
