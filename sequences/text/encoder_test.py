"""The public text encoder: raw strings -> unit vectors, trainable end to end, saveable."""

import numpy as np
import pytest
import tensorflow as tf

from sequences.text import encoder as text_encoder

ITEMS = ["acme wireless headphones", "oak dining table", "organic roasted coffee",
         "stainless steel kettle", "kids wooden puzzle", "silver charm necklace"] * 5


@pytest.fixture(scope="module")
def tower(tmp_path_factory):
  return text_encoder.TextEncoder.from_texts(
      ITEMS, tmp_path_factory.mktemp("enc"), vocab_size=200, output_dim=8,
      model_config={"embed_dim": 16, "ngram_buckets": 256})


def test_raw_strings_to_unit_vectors(tower):
  vectors = tower(tf.constant(["Acme Wireless HEADPHONES", "acme wireless headphones", "oak"]))
  assert vectors.shape == (3, 8) and vectors.dtype == tf.float32
  np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
  np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)  # case-folded inside


def test_gradients_reach_the_embeddings(tower):
  with tf.GradientTape() as tape:
    loss = -tf.reduce_sum(tower(tf.constant(ITEMS[:2]))[:, 0])
  grads = tape.gradient(loss, tower.trainable_variables)
  assert tower.trainable_variables and all(g is not None for g in grads)


def test_saved_model_round_trip_keeps_outputs(tower, tmp_path):
  module = tf.Module()
  module.tower = tower
  module.encode = tf.function(lambda t: tower(t),
                              input_signature=[tf.TensorSpec([None], tf.string)])
  tf.saved_model.save(module, str(tmp_path / "m"))
  loaded = tf.saved_model.load(str(tmp_path / "m"))
  texts = tf.constant(ITEMS[:3])
  np.testing.assert_allclose(loaded.encode(texts), tower(texts), atol=1e-6)


def test_bad_input_and_bad_model_are_clear_errors(tower):
  with pytest.raises(tf.errors.InvalidArgumentError, match="empty"):
    tower(tf.constant(["ok", " "]))
  with pytest.raises(ValueError, match="learned features"):
    text_encoder.TextEncoder("unused.txt", model="Linear")


def test_feature_body_reads_token_ids_a_caller_made():
  # recsys tokenises with stock ops and hands the body int ids (0 = padding, 1 = unknown).
  body = text_encoder.feature_body("FastText", vocab_size=10, sequence_length=4, embed_dim=6,
                                   ngram_buckets=16, num_classes=1)
  features = body.features(tf.constant([[2, 3, 0, 0], [4, 5, 6, 1]]))
  assert features.shape == (2, 6)
  with pytest.raises(ValueError, match="learned features, one of FastText, CNN"):
    text_encoder.feature_body("Linear", vocab_size=10)
