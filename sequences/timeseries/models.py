"""Forecasters: history [batch, L, channels] -> forecast [batch, H, channels], picked by name.

    model = getattr(models, config.model)(models.ModelConfig(...))

Every model forecasts all H steps at once (direct multi-horizon, no feedback of its own errors) and
sees series that the input pipeline has z-scored with training statistics; the export adds that
scaling around the model so that clients send raw values. Learned models also normalise each window
by its own statistics (`InstanceNorm`, RevIN) when `revin` is set.

| name          | what it is                                                                      |
|---------------|---------------------------------------------------------------------------------|
| LastValue     | repeats the last observed value (baseline, no weights)                          |
| SeasonalNaive | repeats the last `season` values (baseline, no weights)                         |
| Linear        | one Dense L -> H shared by all channels (RLinear / NLinear)                     |
| DLinear       | moving-average trend + seasonal remainder, one Dense each (Zeng et al., 2023)   |
| GRU, LSTM     | recurrent net over non-overlapping segments of each channel (SegRNN-style)      |
| DilatedCNN    | causal dilated 1-D convolutions (WaveNet/TCN) + a linear skip L -> H            |
| PatchTST      | channel-independent patch Transformer encoder with a flatten head (Nie et al., 2023) |
| Ensemble      | the mean of trained members' forecasts (built from members, not by `create`)    |
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import tensorflow as tf

from sequences.timeseries import layers


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """What a forecaster needs to know; built from `config.model` by `train.create_model`."""

  lookback: int
  horizon: int
  channels: int
  season: int = 24  # SeasonalNaive's period in rows (24 for hourly data, 7 for daily)
  revin: bool = True  # per-window instance normalisation inside the model
  hidden: int = 64  # d_model / RNN units / conv filters
  num_layers: int = 2
  heads: int = 4
  dropout: float = 0.1
  kernel_size: int = 25  # DLinear's moving-average window
  patch_len: int = 16  # PatchTST patches and RNN segments
  patch_stride: int = 8

  def __post_init__(self):
    for field in ("lookback", "horizon", "channels", "season", "hidden", "num_layers", "heads",
                  "patch_len", "patch_stride"):
      if getattr(self, field) < 1:
        raise ValueError(f"model.{field} must be >= 1, got {getattr(self, field)}")
    if not 0 <= self.dropout < 1:
      raise ValueError(f"model.dropout must be in [0, 1), got {self.dropout}")


class Forecaster(tf.keras.Model):
  """Thin base: checks the window shape, applies RevIN around `forecast`.

  Subclasses implement `forecast(x, training)` on normalised [B, L, C] and return [B, H, C].
  """

  is_baseline = False

  def __init__(self, config: ModelConfig, **kwargs):
    super().__init__(**kwargs)
    self.config = config
    self.norm = layers.InstanceNorm(config.channels, name="revin") if config.revin and not self.is_baseline else None

  def call(self, x, training=None):
    c = self.config
    x = tf.ensure_shape(x, [None, c.lookback, c.channels])
    if self.norm is None:
      return self.forecast(x, training=training)
    z, stats = self.norm.normalize(x)
    return self.norm.denormalize(self.forecast(z, training=training), stats)

  def forecast(self, x, training=None):
    raise NotImplementedError

  def build_for_input(self):
    """Creates the weights by calling the model once on zeros (Keras builds lazily)."""
    self(tf.zeros([1, self.config.lookback, self.config.channels]))
    return self


class LastValue(Forecaster):
  """Persistence: the forecast for every step is the last observed value."""

  is_baseline = True

  def forecast(self, x, training=None):
    return tf.repeat(x[:, -1:], self.config.horizon, axis=1)


class SeasonalNaive(Forecaster):
  """The value one season earlier: y[t + h] = x[t + h - season * k] for the smallest k >= 1."""

  is_baseline = True

  def __init__(self, config: ModelConfig, **kwargs):
    super().__init__(config, **kwargs)
    if config.season > config.lookback:
      raise ValueError(f"SeasonalNaive needs lookback >= season; got lookback {config.lookback} "
                       f"< season {config.season}. Raise model.lookback or lower model.season.")

  def forecast(self, x, training=None):
    c = self.config
    last_season = x[:, c.lookback - c.season:]
    reps = -(-c.horizon // c.season)
    return tf.tile(last_season, [1, reps, 1])[:, :c.horizon]


class _ChannelIndependent(Forecaster):
  """Runs `forecast_univariate` ([B*C, L, 1] -> [B*C, H]) on every channel with shared weights."""

  def forecast(self, x, training=None):
    batch, channels = tf.shape(x)[0], tf.shape(x)[2]
    y = self.forecast_univariate(layers.to_channel_sequences(x), training=training)
    return layers.from_channel_sequences(y, batch, channels)


class Linear(_ChannelIndependent):
  """One linear map from the L past values to the H future ones, shared by all channels.

  With RevIN this is RLinear (Li et al., 2023); with L=336 it is the strongest cheap model on ETT.
  """

  def __init__(self, config: ModelConfig, **kwargs):
    super().__init__(config, **kwargs)
    self.head = tf.keras.layers.Dense(config.horizon, name="head")

  def forecast_univariate(self, x, training=None):
    return self.head(tf.squeeze(x, -1))


class DLinear(_ChannelIndependent):
  """Trend (moving average) and seasonal remainder, each mapped L -> H by its own Dense, summed."""

  def __init__(self, config: ModelConfig, **kwargs):
    super().__init__(config, **kwargs)
    self.decompose = layers.MovingAverage(config.kernel_size)
    self.trend = tf.keras.layers.Dense(config.horizon, name="trend")
    self.seasonal = tf.keras.layers.Dense(config.horizon, name="seasonal")

  def forecast_univariate(self, x, training=None):
    trend = self.decompose(x)
    seasonal = x - trend
    return self.trend(tf.squeeze(trend, -1)) + self.seasonal(tf.squeeze(seasonal, -1))


class _SegmentRNN(_ChannelIndependent):
  """A recurrent net over segments of `patch_len` steps of each channel (SegRNN, Lin et al., 2023).

  Reading 336 hourly steps one at a time is slow on CPU and forgets the start; 21 segments of 16
  keep the recurrence short. The last state is mapped to all H steps at once.
  """

  cell = None

  def __init__(self, config: ModelConfig, **kwargs):
    super().__init__(config, **kwargs)
    self.patches = layers.Patches(config.patch_len, config.patch_len)
    self.embed = tf.keras.layers.Dense(config.hidden, activation="relu", name="embed")
    self.rnns = [self.cell(config.hidden, return_sequences=i < config.num_layers - 1,
                           dropout=config.dropout, name=f"rnn{i}")
                 for i in range(config.num_layers)]
    self.drop = tf.keras.layers.Dropout(config.dropout)
    self.head = tf.keras.layers.Dense(config.horizon, name="head")

  def forecast_univariate(self, x, training=None):
    h = self.embed(self.patches(x))
    for rnn in self.rnns:
      h = rnn(h, training=training)
    return self.head(self.drop(h, training=training))


class GRU(_SegmentRNN):
  cell = tf.keras.layers.GRU


class LSTM(_SegmentRNN):
  cell = tf.keras.layers.LSTM


class DilatedCNN(_ChannelIndependent):
  """Causal dilated convolutions (dilations 1, 2, 4, …) read the window; a linear skip L -> H.

  The conv stack's features at the last step (receptive field 2**num_layers steps with kernel 2)
  correct the linear map, so the net starts from the linear model and learns nonlinear structure.
  """

  def __init__(self, config: ModelConfig, **kwargs):
    super().__init__(config, **kwargs)
    self.convs = [tf.keras.layers.Conv1D(config.hidden, 2, dilation_rate=2**i, padding="causal",
                                         activation="gelu", name=f"conv{i}")
                  for i in range(config.num_layers)]
    self.drop = tf.keras.layers.Dropout(config.dropout)
    self.conv_head = tf.keras.layers.Dense(config.horizon, name="conv_head")
    self.skip = tf.keras.layers.Dense(config.horizon, name="skip")

  def forecast_univariate(self, x, training=None):
    h = x
    for i, conv in enumerate(self.convs):
      out = conv(h)
      h = out + h if i else out  # residual once the widths match
    features = self.drop(h[:, -1], training=training)
    return self.skip(tf.squeeze(x, -1)) + self.conv_head(features)


class PatchTST(_ChannelIndependent):
  """Patch Transformer (Nie et al., ICLR 2023): each channel's window as ~L/stride patch tokens.

  Patches of 16 steps with stride 8 become tokens (42 for L=336), a small Transformer encoder mixes
  them, and a flatten head maps all token features to the H steps. Channel-independent.
  """

  def __init__(self, config: ModelConfig, **kwargs):
    super().__init__(config, **kwargs)
    self.num_patches = layers.Patches.count(config.lookback, config.patch_len, config.patch_stride)
    self.patches = layers.Patches(config.patch_len, config.patch_stride)
    self.embed = tf.keras.layers.Dense(config.hidden, name="patch_embed")
    self.position = self.add_weight(
        name="position", shape=(self.num_patches, config.hidden),
        initializer=tf.keras.initializers.RandomUniform(-0.02, 0.02))
    self.blocks = [layers.TransformerEncoderBlock(config.hidden, config.heads, 2 * config.hidden,
                                                  config.dropout, name=f"block{i}")
                   for i in range(config.num_layers)]
    self.norm_out = tf.keras.layers.LayerNormalization()
    self.drop = tf.keras.layers.Dropout(config.dropout)
    self.head = tf.keras.layers.Dense(config.horizon, name="head")

  def forecast_univariate(self, x, training=None):
    h = self.embed(self.patches(x)) + self.position
    h = self.drop(h, training=training)
    for block in self.blocks:
      h = block(h, training=training)
    h = tf.reshape(self.norm_out(h), [-1, self.num_patches * self.config.hidden])
    return self.head(self.drop(h, training=training))


class Ensemble(Forecaster):
  """The mean of its members' forecasts; a member reading L' < L rows sees the last L' of them.

  Members are trained on their own (`train.train_and_evaluate` with `model=Ensemble`) and keep
  their own RevIN; averaging independently trained models removes part of each one's error from
  its initialisation, data order and architecture. One checkpoint holds every member's weights,
  and the export wraps it like any forecaster (same `forecast` signature, window of L rows).
  """

  def __init__(self, config: ModelConfig, members: Sequence[Forecaster], **kwargs):
    super().__init__(dataclasses.replace(config, revin=False), **kwargs)
    if not members:
      raise ValueError("Ensemble needs at least one member forecaster")
    for i, m in enumerate(members):
      mc = m.config
      if (mc.horizon, mc.channels) != (config.horizon, config.channels):
        raise ValueError(f"ensemble member {i} ({m.name}) forecasts {mc.horizon} steps of "
                         f"{mc.channels} channels, the ensemble {config.horizon} of "
                         f"{config.channels}; every member needs the ensemble's horizon and channels")
      if mc.lookback > config.lookback:
        raise ValueError(f"ensemble member {i} ({m.name}) reads {mc.lookback} rows, more than the "
                         f"ensemble's lookback {config.lookback}; raise the ensemble's lookback")
    self.members = list(members)

  def forecast(self, x, training=None):
    lookback = self.config.lookback
    forecasts = [m(x[:, lookback - m.config.lookback:], training=training) for m in self.members]
    return tf.add_n(forecasts) / len(forecasts)


BASELINES = ("LastValue", "SeasonalNaive")
LEARNED = ("Linear", "DLinear", "GRU", "LSTM", "DilatedCNN", "PatchTST")
ALL = BASELINES + LEARNED


def create(name: str, config: ModelConfig) -> Forecaster:
  """The model class `name` of this module, built; unknown names list the choices."""
  if name == "Ensemble":
    raise ValueError("Ensemble is built from trained members: models.Ensemble(config, members), "
                     "or train with config.model=Ensemble and config.ensemble.members set")
  if name not in ALL:
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(ALL)}")
  return globals()[name](config, name=name.lower()).build_for_input()
