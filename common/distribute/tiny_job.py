"""A tiny but complete training job under any distribution kind.

It is the workload of the distribution and resume tests, and a smoke test for a new cluster:

    bazel run //common/distribute:tiny_job -- --workdir=/tmp/tiny --kind=mirrored --num_cpu_devices=2
    bazel run //common/distribute:launch -- --workers 2 -- \
        .venv/bin/python -m common.distribute.tiny_job --workdir=/tmp/tiny_mw --kind=multi_worker

The model is a small MLP fitting a fixed linear target; the data is sharded *by batch*, so that the
global batch of step s holds the same examples (rows s·B … s·B+B−1) whatever the number of replicas,
and every engine follows the same optimisation path up to float rounding. Each process writes
`<workdir>/result-<rank>.json` with its final loss on the whole data set, its weights, and how many
steps this run executed (fewer than epochs × steps_per_epoch when it resumed from a backup).
"""

import json
import os
import time

import numpy as np
import tensorflow as tf
from absl import app, flags

from common.distribute import config as distribute_config
from common.distribute import horovod_backend
from common.distribute import strategy as strategy_lib
from common.training import fit as fit_lib
from common.training import seeds

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Run directory (backups, checkpoints, results).", required=True)
flags.DEFINE_enum("kind", "default", list(distribute_config.KINDS), "distribution.kind")
flags.DEFINE_integer("num_cpu_devices", 0, "distribution.num_cpu_devices (mirrored).")
flags.DEFINE_enum("precision", "auto", list(distribute_config.PRECISIONS), "distribution.precision")
flags.DEFINE_integer("global_batch_size", 32, "Examples per step over all replicas.")
flags.DEFINE_integer("epochs", 3, "Epochs.")
flags.DEFINE_integer("steps_per_epoch", 8, "Steps per epoch.")
flags.DEFINE_integer("backup_every_steps", 0, "Back up every N steps (0: once per epoch).")
flags.DEFINE_float("step_seconds", 0.0, "Sleep after each step (lets tests kill a run mid-epoch).")

NUM_FEATURES = 8


def make_data(num_examples: int) -> tuple[np.ndarray, np.ndarray]:
  """Fixed inputs and a noiseless linear target with one nonlinearity (learnable, not trivial)."""
  rng = np.random.default_rng(1234)
  x = rng.normal(size=(num_examples, NUM_FEATURES)).astype(np.float32)
  w = rng.normal(size=(NUM_FEATURES, 1)).astype(np.float32)
  y = x @ w + 0.5 * np.maximum(x[:, :1], 0.0)
  return x, y.astype(np.float32)


def create_model() -> tf.keras.Model:
  inputs = tf.keras.Input((NUM_FEATURES,))
  hidden = tf.keras.layers.Dense(16, activation="relu")(inputs)
  outputs = tf.keras.layers.Dense(1, dtype="float32")(hidden)  # float32 output under mixed precision
  return tf.keras.Model(inputs, outputs)


def dataset_fn_for(x, y, global_batch_size):
  def dataset_fn(input_context: tf.distribute.InputContext) -> tf.data.Dataset:
    per_replica = input_context.get_per_replica_batch_size(global_batch_size)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(per_replica, drop_remainder=True)
    # Shard whole batches: pipeline p gets batches p, p+n, ..., so the replicas of one global step
    # hold consecutive rows, exactly the rows one replica would get with the whole global batch.
    return ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
  return dataset_fn


class _StepCounter(tf.keras.callbacks.Callback):
  """Counts the steps this process ran and optionally slows each down."""

  def __init__(self, step_seconds: float):
    super().__init__()
    self.steps = 0
    self.step_seconds = step_seconds

  def on_train_batch_end(self, batch, logs=None):
    self.steps += 1
    if self.step_seconds:
      time.sleep(self.step_seconds)


def rank() -> int:
  if horovod_backend.is_active():
    return horovod_backend.rank()
  task = json.loads(os.environ.get("TF_CONFIG") or "{}").get("task") or {}
  return int(task.get("index", 0))


def main(argv):
  del argv
  cfg = distribute_config.get_config()
  cfg.kind = FLAGS.kind
  cfg.num_cpu_devices = FLAGS.num_cpu_devices
  cfg.precision = FLAGS.precision
  strategy = strategy_lib.create(cfg)  # first TensorFlow work in the process
  seeds.set_all(0)
  tf.io.gfile.makedirs(FLAGS.workdir)
  with open(os.path.join(FLAGS.workdir, f"pid-{rank()}"), "w") as f:
    f.write(str(os.getpid()))

  x, y = make_data(FLAGS.global_batch_size * FLAGS.steps_per_epoch)
  with strategy.scope():
    model = create_model()
    model.compile(optimizer=tf.keras.optimizers.SGD(0.05, momentum=0.9), loss="mse",
                  steps_per_execution=strategy_lib.steps_per_execution(cfg))
  train_ds = strategy_lib.distribute(strategy, dataset_fn_for(x, y, FLAGS.global_batch_size),
                                     FLAGS.global_batch_size)
  counter = _StepCounter(FLAGS.step_seconds)
  history = fit_lib.fit(model, train_ds, epochs=FLAGS.epochs, workdir=FLAGS.workdir,
                        steps_per_epoch=FLAGS.steps_per_epoch, monitor="loss",
                        backup_every_steps=FLAGS.backup_every_steps or None,
                        extra_callbacks=[counter], verbose=2)

  final_loss = float(tf.reduce_mean(tf.square(model(x, training=False) - y)))
  # For in-process replicas (mirrored), every replica's copy of every variable.
  replica_weights = [[np.asarray(v).ravel().tolist() for v in getattr(w, "values", [w])]
                     for w in model.weights]
  result = {
      "kind": FLAGS.kind,
      "rank": rank(),
      "replicas": strategy_lib.num_replicas(strategy),
      "final_loss": final_loss,
      "first_epoch_loss": float(history.history["loss"][0]) if history.history.get("loss") else None,
      "last_epoch_loss": float(history.history["loss"][-1]) if history.history.get("loss") else None,
      "steps_run": counter.steps * strategy_lib.steps_per_execution(cfg),
      "weights": [np.concatenate([np.asarray(v).ravel() for v in model.get_weights()]).tolist()],
      "replica_weights": replica_weights,
  }
  with open(os.path.join(FLAGS.workdir, f"result-{rank()}.json"), "w") as f:
    json.dump(result, f)
  print(f"tiny_job: kind={FLAGS.kind} rank={rank()} replicas={result['replicas']} "
        f"final_loss={final_loss:.6f} steps_run={result['steps_run']}", flush=True)


if __name__ == "__main__":
  app.run(main)
