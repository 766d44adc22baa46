"""`fit`: `model.fit` with the callbacks every trellis training job wants, under any strategy.

    history = fit_lib.fit(model, train_ds, epochs=10, workdir=workdir, validation_data=val_ds,
                          steps_per_epoch=200, early_stopping_patience=3)

writes into `workdir`:

    backup/          BackupAndRestore state: a job killed (preempted, OOM-killed, SIGKILL) and
                     started again with the same workdir resumes where the last backup left off,
                     mid-epoch when `backup_every_steps` is set. Deleted when training completes.
    checkpoints/     weights after every epoch (`epoch-0003.*`), TensorFlow checkpoint format.
    tensorboard/     TensorBoard summaries (`tensorboard --logdir <workdir>/tensorboard`).
    train_log.csv    one row of metrics per epoch (appended across restarts).

The workdir may be on any file system TensorFlow knows (`gs://bucket/runs/x`, `ram://`): every
callback writes through TensorFlow's file systems (checkpoints, summaries, and Keras' CSVLogger
through tf.io.gfile), and nothing here touches it with local file calls.

Only the chief writes checkpoints, summaries and the CSV log (`strategy.is_chief`):
under `MultiWorkerMirroredStrategy` Keras has the other workers write to temporary directories it
deletes, since saving is a collective operation; under Horovod only rank 0 adds those callbacks.
Under Horovod `fit` also wraps the optimizer in `hvd.DistributedOptimizer` and adds Horovod's
broadcast and metric-averaging callbacks, so domain code is the same for every engine.
"""

import logging
import os

import tensorflow as tf

from common.distribute import horovod_backend
from common.distribute import strategy as strategy_lib


def callbacks(workdir: str, *, early_stopping_patience: int | None = None,
              monitor: str = "val_loss", backup_every_steps: int | None = None) -> list:
  """The standard callbacks for a run in `workdir` (see the module docstring).

  Args:
    workdir: the run's directory; the same workdir resumes the run.
    early_stopping_patience: stop after this many epochs without improvement in `monitor`
      and restore the best weights; 0 or None disables early stopping (every epoch runs), so a
      config field can say "off" with an int.
    monitor: the logged metric early stopping watches.
    backup_every_steps: also back up every N train steps (mid-epoch resume); None = once per epoch.
  """
  if early_stopping_patience is not None and early_stopping_patience < 0:
    raise ValueError(f"early_stopping_patience={early_stopping_patience} must be >= 0 or None.")
  if backup_every_steps is not None and backup_every_steps <= 0:
    raise ValueError(f"backup_every_steps={backup_every_steps} must be a positive number of steps "
                     "or None (back up once per epoch).")
  chief = strategy_lib.is_chief()
  backup_dir = os.path.join(workdir, "backup")
  result = []
  if horovod_backend.is_active():
    result += horovod_backend.callbacks()
    # Every rank holds the same state; each keeps its own backup so none reads a half-written one.
    backup_dir = os.path.join(backup_dir, f"rank-{horovod_backend.rank()}")
  result.append(tf.keras.callbacks.BackupAndRestore(
      backup_dir, save_freq=backup_every_steps or "epoch", delete_checkpoint=True))
  if early_stopping_patience:
    result.append(tf.keras.callbacks.EarlyStopping(
        monitor=monitor, patience=early_stopping_patience, restore_best_weights=True, verbose=1))
  # MultiWorkerMirroredStrategy: every worker must take part in saving (Keras sends the
  # non-chief copies to temporary directories); Horovod: only rank 0 saves.
  if chief or not horovod_backend.is_active():
    result.append(tf.keras.callbacks.ModelCheckpoint(
        os.path.join(workdir, "checkpoints", "epoch-{epoch:04d}"), save_weights_only=True))
    result.append(tf.keras.callbacks.TensorBoard(os.path.join(workdir, "tensorboard")))
  if chief:
    result.append(tf.keras.callbacks.CSVLogger(os.path.join(workdir, "train_log.csv"), append=True))
  return result


def fit(model: tf.keras.Model, train_data, *, epochs: int, workdir: str, validation_data=None,
        steps_per_epoch: int | None = None, validation_steps: int | None = None,
        early_stopping_patience: int | None = None, monitor: str = "val_loss",
        backup_every_steps: int | None = None, extra_callbacks: list | None = None,
        verbose: int | str = "auto") -> tf.keras.callbacks.History:
  """Trains a compiled `model` with backup/restore, checkpoints, TensorBoard, CSV log and progress.

  Args:
    model: a compiled Keras model, built under the run's strategy scope.
    train_data: training data (usually from `strategy.distribute`).
    epochs: total epochs; a resumed run continues up to the same total.
    workdir: where backups, checkpoints, summaries and the CSV log go (created if missing).
    validation_data: evaluated after each epoch.
    steps_per_epoch: train steps per epoch (required for repeated or distributed datasets).
    validation_steps: validation steps per evaluation.
    early_stopping_patience: see `callbacks`.
    monitor: the metric early stopping watches.
    backup_every_steps: see `callbacks`.
    extra_callbacks: appended after the standard ones.
    verbose: Keras verbosity on the chief; other workers stay quiet so logs are not repeated.

  Returns:
    The Keras `History` (on a resumed run, only the epochs run in this process).
  """
  if epochs <= 0:
    raise ValueError(f"epochs={epochs} must be a positive number of epochs.")
  if model.optimizer is None:
    raise ValueError("fit() needs a compiled model: call model.compile(optimizer, loss, ...) first.")
  if early_stopping_patience and validation_data is None and monitor.startswith("val_"):
    raise ValueError(f"early stopping monitors {monitor!r} but no validation_data was given; pass "
                     "validation_data or monitor a training metric (monitor='loss').")
  tf.io.gfile.makedirs(workdir)
  if horovod_backend.is_active():
    horovod_backend.wrap_optimizer(model)
  run_callbacks = callbacks(workdir, early_stopping_patience=early_stopping_patience,
                            monitor=monitor, backup_every_steps=backup_every_steps)
  run_callbacks += extra_callbacks or []
  chief = strategy_lib.is_chief()
  history = model.fit(train_data, epochs=epochs, steps_per_epoch=steps_per_epoch,
                      validation_data=validation_data, validation_steps=validation_steps,
                      callbacks=run_callbacks, verbose=verbose if chief else 0)
  if chief and history.history:
    last = {k: v[-1] for k, v in history.history.items()}
    logging.info("fit: %d epoch(s) in this run; last epoch %s", len(history.epoch),
                 ", ".join(f"{k}={v:.4g}" for k, v in sorted(last.items())))
  return history
