"""Tests for the Horovod backend's import of Horovod's Keras module and its single-process use."""

import importlib.util
import sys

import pytest
import tensorflow as tf

from common.distribute import horovod_backend

pytestmark = pytest.mark.skipif(importlib.util.find_spec("horovod") is None,
                                reason="Horovod is not built; run `make horovod`")


def test_horovod_keras_sees_tf_keras_and_keras_is_restored():
  import keras  # Keras 3, as installed in the venv
  import tf_keras

  module = horovod_backend.hvd()
  # Horovod's `from keras import backend as K` bound tf-keras's backend, the one tf.keras uses.
  assert module.callbacks.K is tf_keras.backend
  assert module.callbacks.K.get_value is tf.keras.backend.get_value
  # ...and nothing else in the process lost Keras 3.
  assert sys.modules["keras"] is keras
  assert keras.__version__.startswith("3.")


def test_single_process_job_wraps_the_optimizer_once():
  horovod_backend.init()
  assert horovod_backend.is_active()
  assert (horovod_backend.size(), horovod_backend.rank()) == (1, 0)
  model = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
  model.compile(tf.keras.optimizers.SGD(0.1), "mse")
  horovod_backend.wrap_optimizer(model)
  wrapped = model.optimizer
  horovod_backend.wrap_optimizer(model)
  assert model.optimizer is wrapped
  assert type(wrapped).__name__ == "SGD" and wrapped._trellis_horovod
  history = model.fit(tf.ones((8, 2)), tf.ones((8, 1)), epochs=2, verbose=0,
                      callbacks=horovod_backend.callbacks())
  assert history.history["loss"][1] < history.history["loss"][0]


def test_uncompiled_model_is_explained():
  model = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
  with pytest.raises(ValueError, match="Compile the model before fit"):
    horovod_backend.wrap_optimizer(model)
