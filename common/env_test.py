"""The legacy-Keras switch is on before TensorFlow is imported, in every process."""

import os


def test_legacy_keras_is_on_before_tensorflow_import():
  assert os.environ.get("TF_USE_LEGACY_KERAS") == "1"
  import tensorflow as tf

  # tf.keras must be Keras 2 (tf_keras): tensorflow-recommenders needs it.
  assert tf.keras.layers.Dense.__module__.startswith("tf_keras"), tf.keras.layers.Dense.__module__
