"""Tests for the Horovod backend's import of Horovod's Keras module and its single-process use."""

import importlib.util
import os
import sys

import pytest
import tensorflow as tf

from common.distribute import horovod_backend

HAVE_HOROVOD = importlib.util.find_spec("horovod") is not None
needs_horovod = pytest.mark.skipif(not HAVE_HOROVOD, reason="Horovod is not built; run `make horovod`")


def test_horovod_is_built_where_the_build_promises_it():
  # Without Horovod the backend's tests (here and in parity_test) skip, and Bazel counts a skip as
  # a pass. `make test` builds Horovod first and sets TRELLIS_REQUIRE_HOROVOD=1, so in CI a
  # missing or broken build fails here instead of passing silently.
  if os.environ.get("TRELLIS_REQUIRE_HOROVOD") != "1":
    pytest.skip("TRELLIS_REQUIRE_HOROVOD is not set (only `make test` promises a Horovod build)")
  assert HAVE_HOROVOD, ("`make test` built Horovod (third_party/horovod/build.sh) but `import horovod` "
                        "fails in the test's interpreter; rerun `make horovod` and read its output")
  import horovod.tensorflow  # noqa: F401  the compiled ops load, not just the package


@needs_horovod
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


@needs_horovod
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


@needs_horovod
def test_uncompiled_model_is_explained():
  model = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
  with pytest.raises(ValueError, match="Compile the model before fit"):
    horovod_backend.wrap_optimizer(model)
