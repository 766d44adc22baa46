"""SequenceEncoder: padding never changes the output, order and recency do."""

import numpy as np
import pytest
import tensorflow as tf

from sequences import sequence_encoder as se

HOUR = 3600.0


def _encoder(kind, **kw):
  tf.keras.utils.set_random_seed(0)
  return se.SequenceEncoder(output_dim=8, num_hash_bins=1000, embedding_dim=16, encoder=kind,
                            num_heads=2, **kw)


def _batch(ids, gaps):
  return {"item_ids": tf.constant(ids, tf.int64), "time_gaps": tf.constant(gaps, tf.float32)}


@pytest.mark.parametrize("kind", se.ENCODERS)
def test_padding_left_right_or_garbage_does_not_change_the_output(kind):
  enc = _encoder(kind)
  # The same 3 events (oldest first), padded to 6 in three ways; padded gaps hold junk.
  right = _batch([[11, 12, 13, 0, 0, 0]], [[30 * HOUR, 2 * HOUR, 60.0, -5.0, 1e9, 7.0]])
  left = _batch([[0, 0, 0, 11, 12, 13]], [[3.0, -1.0, 0.0, 30 * HOUR, 2 * HOUR, 60.0]])
  short = _batch([[11, 12, 13]], [[30 * HOUR, 2 * HOUR, 60.0]])
  a, b, c = enc(right), enc(left), enc(short)
  assert a.shape == (1, 8)
  np.testing.assert_allclose(a, b, atol=1e-5)
  np.testing.assert_allclose(a, c, atol=1e-5)
  # An explicit mask marks padding the same way, whatever id the padded slots hold.
  masked = {"item_ids": tf.constant([[11, 12, 13, 99, 98, 97]], tf.int64),
            "time_gaps": right["time_gaps"],
            "mask": tf.constant([[True, True, True, False, False, False]])}
  np.testing.assert_allclose(a, enc(masked), atol=1e-5)


@pytest.mark.parametrize("kind", se.ENCODERS)
def test_order_and_time_gaps_matter(kind):
  enc = _encoder(kind)
  base = enc(_batch([[11, 12, 13]], [[3 * HOUR, 2 * HOUR, HOUR]]))
  reordered = enc(_batch([[13, 12, 11]], [[3 * HOUR, 2 * HOUR, HOUR]]))
  older = enc(_batch([[11, 12, 13]], [[300 * HOUR, 200 * HOUR, 100 * HOUR]]))
  assert np.abs(base - reordered).max() > 1e-3
  assert np.abs(base - older).max() > 1e-3


def test_string_ids_shared_embedding_and_empty_history():
  vocab = ["a", "b", "c"]
  shared = tf.keras.Sequential([tf.keras.layers.StringLookup(vocabulary=vocab),
                                tf.keras.layers.Embedding(len(vocab) + 1, 12)])
  enc = se.SequenceEncoder(output_dim=4, item_embedding=shared, encoder="transformer",
                           num_heads=3, padding_id="", normalize=True)
  out = enc({"item_ids": tf.constant([["a", "b", ""], ["", "", ""]]),
             "time_gaps": tf.zeros([2, 3])})
  assert out.shape == (2, 4)
  np.testing.assert_allclose(tf.norm(out, axis=-1), [1.0, 1.0], atol=1e-5)
  # A new user (no events) gets the learned cold-start vector, whatever the padded slots hold.
  again = enc({"item_ids": tf.constant([["", ""]]), "time_gaps": tf.constant([[5.0, -1.0]])})
  np.testing.assert_allclose(out[1], again[0], atol=1e-6)
  # The encoder trains the shared table's variables, not a copy of them.
  assert any(v is shared.layers[1].embeddings for v in enc.trainable_variables)


def test_trains_under_keras_fit():
  # Target: did the user's last event happen within the hour? Needs the gaps and the masking.
  rng = np.random.default_rng(0)
  ids = rng.integers(1, 50, size=(256, 5))
  lengths = rng.integers(1, 6, size=256)
  ids[np.arange(5)[None, :] >= lengths[:, None]] = 0  # right padding
  gaps = np.sort(rng.exponential(5 * HOUR, size=(256, 5)), axis=1)[:, ::-1]
  last = gaps[np.arange(256), lengths - 1]
  y = (last < HOUR).astype(np.float32)
  enc = _encoder("gru")
  inputs = {"item_ids": tf.keras.Input([5], dtype=tf.int64),
            "time_gaps": tf.keras.Input([5], dtype=tf.float32)}
  model = tf.keras.Model(inputs, tf.keras.layers.Dense(1)(enc(inputs)))
  model.compile(tf.keras.optimizers.Adam(0.02),
                tf.keras.losses.BinaryCrossentropy(from_logits=True), metrics=["accuracy"])
  history = model.fit({"item_ids": ids, "time_gaps": gaps.astype(np.float32)}, y, epochs=20,
                      batch_size=128, verbose=0)
  assert history.history["accuracy"][-1] > 0.85 > max(y.mean(), 1 - y.mean())


def test_bad_inputs_name_the_problem():
  enc = _encoder("gru")
  with pytest.raises(ValueError, match="time_gaps"):
    enc({"item_ids": tf.constant([[1, 2]], tf.int64)})
  with pytest.raises(tf.errors.InvalidArgumentError, match="leaked future"):
    enc(_batch([[1, 2]], [[10.0, -3.0]]))
  with pytest.raises(tf.errors.InvalidArgumentError, match="NaN"):
    enc(_batch([[1, 2]], [[10.0, np.nan]]))
  with pytest.raises(ValueError, match="encoder='lstm'"):
    se.SequenceEncoder(encoder="lstm")
  with pytest.raises(ValueError, match="strictly increasing"):
    se.SequenceEncoder(gap_boundaries=(10.0, 5.0))


def test_time_gaps_helper_is_exact_for_unix_times():
  gaps = se.time_gaps(tf.constant([[1_700_000_000, 1_700_003_600]], tf.int64),
                      tf.constant([1_700_007_201], tf.int64))
  np.testing.assert_array_equal(gaps, [[7201.0, 3601.0]])
