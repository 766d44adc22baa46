"""The Horovod backend: one process per replica, gradients averaged by Horovod's all-reduce (Gloo).

Horovod is not a `tf.distribute` strategy: each process runs the default strategy and Horovod
joins them. What the other strategies do inside TensorFlow is done here and by `fit`:

* `init()` joins the job (`hvd.init`); `horovodrun` (or our launcher's `--backend horovod`) starts
  the processes and tells each its rank.
* `wrap_optimizer` wraps the compiled Keras optimizer in `hvd.DistributedOptimizer`, so gradients
  are averaged over all ranks before each update (`fit` does this; domains do not).
* `callbacks()` broadcasts rank 0's initial weights and optimizer state to every rank and averages
  the logged metrics over ranks, so every rank reports the global loss.
* Only rank 0 writes checkpoints and exports (`strategy.is_chief`).

Horovod's Keras module does `from keras import backend`: with Keras 3 installed, `keras` is not the
Keras (tf-keras, Keras 2) that `tf.keras` is in trellis, so the import must see tf_keras as `keras`.
`_import_keras_module` arranges that for the duration of the import only, once per process.

Build Horovod with `make horovod` (third_party/horovod/build.sh).
"""

import contextlib
import importlib
import logging
import os
import sys

_BUILD_HINT = "Build it with `make horovod` (third_party/horovod/build.sh)."


@contextlib.contextmanager
def _keras_is_tf_keras():
  import tf_keras

  saved = {k: v for k, v in sys.modules.items() if k == "keras" or k.startswith("keras.")}
  for k in saved:
    del sys.modules[k]
  sys.modules["keras"] = tf_keras
  try:
    yield
  finally:
    for k in [k for k in sys.modules if k == "keras" or k.startswith("keras.")]:
      del sys.modules[k]
    sys.modules.update(saved)


def _import_keras_module():
  """Imports `horovod.tensorflow.keras` with `keras` bound to tf_keras (see module docstring)."""
  if "horovod.tensorflow.keras" in sys.modules:
    return sys.modules["horovod.tensorflow.keras"]
  try:
    importlib.import_module("horovod.tensorflow")
  except ImportError as e:
    raise ImportError(f"distribution.kind=horovod needs Horovod, which is not installed ({e}). "
                      + _BUILD_HINT) from e
  with _keras_is_tf_keras():
    return importlib.import_module("horovod.tensorflow.keras")


def hvd():
  """The `horovod.tensorflow.keras` module (imported the trellis way)."""
  return _import_keras_module()


def is_active() -> bool:
  """True in a process that called `init()` (i.e. runs under distribution.kind=horovod)."""
  module = sys.modules.get("horovod.tensorflow")
  return bool(module and module.is_initialized())


def init() -> None:
  """Joins the Horovod job; errors clearly when the process was not started by horovodrun."""
  h = hvd()
  h.init()
  if h.size() == 1 and not _launched_by_horovodrun():
    logging.warning("Horovod runs with 1 process: start N with "
                    "`bazel run //common/distribute:launch -- --backend horovod --workers N -- ...`.")


def _launched_by_horovodrun() -> bool:
  return "HOROVOD_RANK" in os.environ or "OMPI_COMM_WORLD_RANK" in os.environ


def size() -> int:
  return hvd().size() if is_active() else 1


def rank() -> int:
  return hvd().rank() if is_active() else 0


def wrap_optimizer(model) -> None:
  """Makes `model`'s compiled optimizer average gradients over all ranks (idempotent)."""
  h = hvd()
  optimizer = model.optimizer
  if optimizer is None:
    raise ValueError("Compile the model before fit(): Horovod wraps the compiled optimizer.")
  if getattr(optimizer, "_trellis_horovod", False):
    return
  wrapped = h.DistributedOptimizer(optimizer)
  wrapped._trellis_horovod = True
  model.optimizer = wrapped
  # The train function closes over the optimizer; rebuild it on the next fit.
  model.train_function = None


def callbacks() -> list:
  """Horovod's Keras callbacks, in the order its docs require (broadcast first)."""
  h = hvd()
  return [
      h.callbacks.BroadcastGlobalVariablesCallback(0),
      h.callbacks.MetricAverageCallback(),
  ]
