"""Tests for ensemble.py: blend weights fitted on validation, and the raw-string Ensemble model."""

import numpy as np
import pytest
import tensorflow as tf

from sequences.text import ensemble


def test_fit_weights_prefers_the_member_that_is_right():
  labels = np.array([0, 1, 0, 1])
  right = np.array([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0], [0.0, 2.0]])
  wrong = right[:, ::-1]
  assert ensemble.fit_weights([wrong, right], labels) == (0.0, 1.0)


def test_fit_weights_blends_complementary_members():
  # Member a is sure and right on texts 0-1 and unsure-wrong on 2-3; b the other way round.
  # Alone each scores 0.5; at equal weights the sure votes win everywhere (accuracy 1).
  labels = np.array([0, 0, 1, 1])
  a = np.array([[4.0, 0.0], [4.0, 0.0], [0.2, 0.0], [0.2, 0.0]])
  b = np.array([[0.0, 0.2], [0.0, 0.2], [0.0, 4.0], [0.0, 4.0]])
  weights = ensemble.fit_weights([a, b], labels)
  assert weights == (0.5, 0.5)
  np.testing.assert_array_equal(ensemble.blend([a, b], weights).argmax(-1), labels)
  with pytest.raises(ValueError, match="at least one member"):
    ensemble.fit_weights([], labels)


class _Constant(tf.keras.Model):
  """Logits that ignore the text (a stand-in member with known output)."""

  def __init__(self, logits):
    super().__init__()
    self.logits = tf.constant(logits, tf.float32)

  def call(self, texts, training=False):
    return tf.tile(self.logits[None], [tf.shape(texts)[0], 1])

  def features(self, texts, training=False):
    return self.call(texts)


def test_ensemble_returns_the_weighted_log_probabilities_and_drops_zero_weights():
  identity = tf.keras.layers.Lambda(lambda t: t)
  members = [("a", identity, _Constant([0.0, 0.0])), ("b", identity, _Constant([0.0, np.log(3)])),
             ("c", identity, _Constant([5.0, 0.0]))]
  model = ensemble.Ensemble(members, [0.5, 0.5, 0.0])
  assert model.member_names == ["a", "b"]
  out = model(tf.constant(["x", "y"])).numpy()
  # 0.5 * log([0.5, 0.5]) + 0.5 * log([0.25, 0.75])
  expected = 0.5 * np.log([0.5, 0.5]) + 0.5 * np.log([0.25, 0.75])
  np.testing.assert_allclose(out, [expected, expected], rtol=1e-5)
  assert model.features(tf.constant(["x"])).shape == (1, 4)
  with pytest.raises(ValueError, match="every ensemble weight is 0"):
    ensemble.Ensemble(members, [0.0, 0.0, 0.0])


def test_raw_text_checks_inputs():
  with pytest.raises(tf.errors.InvalidArgumentError, match="not valid UTF-8"):
    ensemble.RawText()(tf.constant([b"\x97 bytes"]))
