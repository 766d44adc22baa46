"""Forecaster shapes, baselines worked by hand, RevIN and channel independence."""

import numpy as np
import pytest
import tensorflow as tf

from sequences.timeseries import layers, models


def _config(**kw):
  return models.ModelConfig(**{"lookback": 32, "horizon": 8, "channels": 3, "season": 4,
                               "hidden": 16, "heads": 2, "patch_len": 8, "patch_stride": 4,
                               "kernel_size": 5, **kw})


@pytest.mark.parametrize("name", models.ALL)
def test_every_model_forecasts_all_steps_of_every_channel(name):
  model = models.create(name, _config())
  y = model(tf.random.normal([5, 32, 3]), training=True)
  assert y.shape == (5, 8, 3)
  assert np.all(np.isfinite(y.numpy()))
  assert model.is_baseline == (name in models.BASELINES)


def test_last_value_and_seasonal_naive_by_hand():
  # One channel, history 0..31: last value 31; last season (4 rows) 28, 29, 30, 31.
  x = tf.reshape(tf.range(32, dtype=tf.float32), [1, 32, 1])
  cfg = _config(channels=1)
  np.testing.assert_array_equal(models.create("LastValue", cfg)(x)[0, :, 0], [31] * 8)
  np.testing.assert_array_equal(models.create("SeasonalNaive", cfg)(x)[0, :, 0],
                                [28, 29, 30, 31, 28, 29, 30, 31])


@pytest.mark.parametrize("name", ["Linear", "DLinear", "PatchTST"])
def test_revin_makes_forecasts_follow_level_and_scale(name):
  # With RevIN (affine weights at their initial 1/0), f(a x + b) = a f(x) + b per channel.
  model = models.create(name, _config(dropout=0.0))
  x = tf.random.normal([2, 32, 3], seed=1)
  np.testing.assert_allclose(model(3.0 * x + 100.0), 3.0 * model(x) + 100.0, rtol=1e-3, atol=2e-2)


@pytest.mark.parametrize("name", ["Linear", "DLinear", "GRU", "DilatedCNN", "PatchTST"])
def test_channels_are_independent(name):
  model = models.create(name, _config(dropout=0.0))
  x = tf.random.normal([1, 32, 3], seed=2)
  changed = tf.concat([x[..., :1] * 5.0 + 1.0, x[..., 1:]], axis=-1)  # only channel 0 changes
  np.testing.assert_allclose(model(x)[..., 1:], model(changed)[..., 1:], atol=1e-5)


def test_dilated_cnn_is_causal_in_time():
  model = models.create("DilatedCNN", _config(revin=False, dropout=0.0))
  conv_only = tf.keras.Sequential(model.convs)
  x = tf.random.normal([1, 32, 1], seed=3)
  later = tf.concat([x[:, :20], x[:, 20:] + 10.0], axis=1)
  np.testing.assert_allclose(conv_only(x)[:, :20], conv_only(later)[:, :20], atol=1e-5)


def test_moving_average_keeps_length_and_constants():
  ma = layers.MovingAverage(5)
  x = tf.constant([[[2.0]] * 9])
  np.testing.assert_allclose(ma(x), x)
  # Edges replicate: [0,0,0,1,2] -> 0.6 at the first step.
  y = ma(tf.reshape(tf.range(9, dtype=tf.float32), [1, 9, 1]))
  assert y.shape == (1, 9, 1)
  assert y[0, 0, 0].numpy() == pytest.approx(0.6)
  assert y[0, 4, 0].numpy() == pytest.approx(4.0)


def test_patch_count_matches_patchtst():
  # PatchTST with L=336, patch 16, stride 8: 42 patches.
  assert layers.Patches.count(336, 16, 8) == 42
  p = layers.Patches(16, 8)(tf.zeros([2, 336, 1]))
  assert p.shape == (2, 42, 16)


def test_bad_configs_say_what_to_change():
  with pytest.raises(ValueError, match="unknown model 'Prophet'"):
    models.create("Prophet", _config())
  with pytest.raises(ValueError, match="lookback >= season"):
    models.create("SeasonalNaive", _config(season=64))
  with pytest.raises(ValueError, match=r"model\.horizon"):
    _config(horizon=0)
  with pytest.raises(ValueError, match="odd"):
    layers.MovingAverage(4)


def test_ensemble_averages_members_each_on_its_own_last_rows():
  short = models.create("Linear", _config(lookback=16))
  full = models.create("DLinear", _config())
  ens = models.Ensemble(_config(), [short, full]).build_for_input()
  x = tf.random.normal([4, 32, 3], seed=4)
  np.testing.assert_allclose(ens(x), (short(x[:, 16:]) + full(x)) / 2, rtol=1e-5, atol=1e-6)
  assert not ens.is_baseline and ens.norm is None  # members keep their own RevIN
  # Its weights are all of its members' weights (one checkpoint saves and restores every member).
  assert len(ens.trainable_weights) == len(short.trainable_weights) + len(full.trainable_weights)


def test_ensemble_rejects_members_it_cannot_average():
  with pytest.raises(ValueError, match="at least one member"):
    models.Ensemble(_config(), [])
  with pytest.raises(ValueError, match="raise the ensemble's lookback"):
    models.Ensemble(_config(lookback=16), [models.create("Linear", _config())])
  with pytest.raises(ValueError, match="ensemble's horizon and channels"):
    models.Ensemble(_config(), [models.create("Linear", _config(horizon=4))])
  with pytest.raises(ValueError, match="built from trained members"):
    models.create("Ensemble", _config())
