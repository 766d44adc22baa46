"""Training and evaluation of a forecaster, as plain functions (flax examples style).

    create_model(config, channels)                 -> models.Forecaster
    train_and_evaluate(config, workdir, data_dir)  -> TrainResult

The loss is MSE on z-scored windows, which is exactly the protocol's test metric. The learning rate
halves after every epoch (DLinear's `type1` schedule): ETT's validation loss is noisy and a long
constant rate overfits the training period; early stopping on validation MSE keeps the best epoch.

Workdirs may be any location TensorFlow's file systems know (`gs://bucket/run`, `ram://run`, a local
path): every file here goes through `tf.io.gfile`, and directories are plain strings (a pathlib.Path
would turn `gs://bucket` into a local folder `gs:/bucket`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time

import ml_collections
import numpy as np
import tensorflow as tf

from common import config as config_lib
from common.distribute import strategy as strategy_lib
from common.training import fit as fit_lib
from common.training import seeds
from sequences.timeseries import ensemble, input_pipeline, loaders, models
from sequences.timeseries import evaluate as evaluate_lib

CHECKPOINT = "checkpoint/model"
SCALER_FILE = "scaler.json"
ENSEMBLE = "Ensemble"


@dataclasses.dataclass
class TrainResult:
  """What a run produced; `test`/`validation` are `evaluate.evaluate` dicts (standardised units)."""

  model: models.Forecaster
  baseline: models.Forecaster
  data: input_pipeline.Data
  validation: dict
  test: dict
  train_seconds: float
  epochs_run: int
  config: ml_collections.ConfigDict | None = None  # as resolved by the data (frequency, season)


def model_config(config, channels: int) -> models.ModelConfig:
  """The typed model config: `config.arch` plus the window shape and channel count."""
  fields = {**config.arch.to_dict(), "lookback": config.lookback, "horizon": config.horizon,
            "channels": channels}
  return config_lib.to_dataclass(fields, models.ModelConfig, path="arch")


def create_model(config, channels: int, name: str | None = None) -> models.Forecaster:
  """Builds `config.model` (or `name`) for series with `channels` channels.

  `Ensemble` builds every member of `config.ensemble_members` (untrained) inside it.
  """
  name = name or config.model
  if name == ENSEMBLE:
    members = [create_model(m, channels) for m in ensemble.member_configs(config)]
    return models.Ensemble(model_config(config, channels), members,
                           name="ensemble").build_for_input()
  return models.create(name, model_config(config, channels))


def fit(model: models.Forecaster, data: input_pipeline.Data, config, strategy,
        workdir: str, verbose: int = 2) -> int:
  """Compiles and trains `model` (built under `strategy`) in place; returns the epochs run."""
  lr, decay = config.learning_rate, config.lr_decay
  with strategy.scope():
    model.compile(optimizer=tf.keras.optimizers.Adam(lr), loss="mse", metrics=["mae"],
                  steps_per_execution=strategy_lib.steps_per_execution(config.distribution),
                  jit_compile=strategy_lib.jit_compile(config.distribution))

  # Keras needs step counts when a call runs several steps (steps_per_execution > 1, the TPU
  # path) and when several replicas or workers share the input (their datasets end at different
  # times); there the training windows repeat and an epoch is the windows over the global batch.
  # A single device keeps the finite dataset, so every window is seen once per epoch.
  counted = (strategy_lib.steps_per_execution(config.distribution) > 1
             or strategy.num_replicas_in_sync > 1)
  steps_per_epoch = max(1, data.num_windows("train") // config.batch_size) if counted else None

  def dataset_fn(input_context):
    ds = input_pipeline.make_dataset(data, "train", config.batch_size, training=True,
                                     seed=config.seed, input_context=input_context)
    return ds.repeat() if counted else ds

  train_ds = strategy_lib.distribute(strategy, dataset_fn, config.batch_size)
  val_ds = input_pipeline.make_dataset(data, "validation", 512, training=False)
  # Validation stays finite; its batch count lets Keras start a fresh pass every epoch.
  validation_steps = int(val_ds.cardinality()) if counted else None
  history = fit_lib.fit(
      model, train_ds, epochs=config.epochs, workdir=os.path.join(workdir, "train"),
      steps_per_epoch=steps_per_epoch, validation_data=val_ds, validation_steps=validation_steps,
      early_stopping_patience=config.early_stopping_patience or None,
      extra_callbacks=[tf.keras.callbacks.LearningRateScheduler(lambda epoch: lr * decay**epoch)],
      verbose=verbose)
  return len(history.epoch)


def _write_text(path: str, text: str) -> None:
  with tf.io.gfile.GFile(path, "w") as f:
    f.write(text)


def _read_text(path: str) -> str:
  with tf.io.gfile.GFile(path) as f:
    return f.read()


def save_scaler(scaler, columns: tuple[str, ...], workdir: str | os.PathLike) -> None:
  """Writes the training statistics the export needs to take raw values."""
  _write_text(os.path.join(os.fspath(workdir), SCALER_FILE), json.dumps(
      {"columns": list(columns), "mean": scaler.mean.tolist(), "std": scaler.std.tolist()},
      indent=1))


def load_scaler(workdir: str | os.PathLike):
  from sequences.timeseries import windowing

  path = os.path.join(os.fspath(workdir), SCALER_FILE)
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f"{path} does not exist; train first "
                            "(bazel run //sequences/timeseries:train -- --workdir=...)")
  d = json.loads(_read_text(path))
  scaler = windowing.Scaler(mean=np.array(d["mean"], np.float32), std=np.array(d["std"], np.float32))
  return scaler, tuple(d["columns"])


def load_trained(workdir: str | os.PathLike):
  """(config, model, scaler, columns) of a finished training run in `workdir`."""
  workdir = os.fspath(workdir)
  config = config_lib.read_saved(workdir)
  scaler, columns = load_scaler(workdir)
  model = create_model(config, len(columns))
  if not model.is_baseline:
    model.load_weights(os.path.join(workdir, CHECKPOINT)).expect_partial()
  return config, model, scaler, columns


def member_dir(member_root: str | os.PathLike, member_config) -> str:
  """Where an ensemble member trains: named after its model and overrides, readable and unique."""
  text = ensemble.format_member(member_config.model, {})
  digest = hashlib.sha256(json.dumps(member_config.to_dict(), sort_keys=True).encode()).hexdigest()
  name = f"{text}-L{member_config.lookback}-seed{member_config.seed}-{digest[:10]}"
  return os.path.join(os.fspath(member_root), name)


def finished_result(config, workdir: str | os.PathLike, data_dir=None, *,
                    series: loaders.Series | None = None) -> TrainResult | None:
  """The run `train_and_evaluate(config, workdir)` already finished there, or None.

  A run counts as finished when `workdir` holds its metrics.json and a config.json equal to
  `config`; the model is loaded from its checkpoint and the figures (validation, test, epochs,
  seconds) are the recorded ones.
  """
  workdir = os.fspath(workdir)
  if not tf.io.gfile.exists(os.path.join(workdir, "metrics.json")):
    return None
  series = series if series is not None else input_pipeline.load_series(config.data, data_dir)
  config = input_pipeline.resolve(config, series)  # runs save the config their data resolved
  try:
    same = json.loads(_read_text(os.path.join(workdir, "config.json"))) == json.loads(
        json.dumps(config.to_dict()))
    metrics = json.loads(_read_text(os.path.join(workdir, "metrics.json"))) if same else None
  except (OSError, tf.errors.OpError, json.JSONDecodeError):
    return None
  if metrics is None:
    return None
  _, model, _, _ = load_trained(workdir)
  data = input_pipeline.prepare(config, data_dir, series=series)
  return TrainResult(model=model, baseline=create_model(config, data.channels, config.baseline),
                     data=data, validation=metrics["validation"], test=metrics["test"],
                     train_seconds=metrics["train_seconds"], epochs_run=metrics["epochs_run"],
                     config=config)


def _fit_members(config, workdir: str, data: input_pipeline.Data,
                 member_root: str | None, verbose: int):
  """Trains (or reuses) every member of `config.ensemble_members`; -> (Ensemble, epochs, seconds).

  A member whose directory under `member_root` (default `workdir/members`, named by `member_dir`)
  holds a finished run with the same config is loaded instead of retrained, so ensembles that
  share members (seeds of one model, say) train each member once. Seconds and epochs are the
  members' recorded totals.
  """
  member_root = member_root or os.path.join(workdir, "members")
  members, epochs, seconds = [], 0, 0.0
  for member_config in ensemble.member_configs(config):
    directory = member_dir(member_root, member_config)
    result = finished_result(member_config, directory, series=data.series) or train_and_evaluate(
        member_config, directory, series=data.series, verbose=verbose)
    if not (np.allclose(result.data.scaler.mean, data.scaler.mean)
            and np.allclose(result.data.scaler.std, data.scaler.std)):
      raise ValueError(f"ensemble member {os.path.basename(directory)} was scaled with other training "
                       "statistics than the ensemble (a look-back that moves the training rows?); "
                       "members must share the ensemble's training split")
    members.append(result.model)
    epochs += result.epochs_run
    seconds += result.train_seconds
  model = models.Ensemble(model_config(config, data.channels), members,
                          name="ensemble").build_for_input()
  return model, epochs, seconds


def train_and_evaluate(config, workdir: str | os.PathLike, data_dir=None, *,
                       series: loaders.Series | None = None, verbose: int = 2,
                       member_root: str | os.PathLike | None = None) -> TrainResult:
  """Trains `config.model`, evaluates it and `config.baseline` on validation and test.

  `model=Ensemble` trains each member as its own run (see `_fit_members`; `member_root` lets
  several ensembles share trained members) and averages them.

  Writes to `workdir`: config.json/config.txt, the final weights (checkpoint/), scaler.json,
  train/ (common.training.fit's backups, epoch checkpoints, TensorBoard, train_log.csv), metrics.json and forecast.png (one test window of the last channel).
  """
  workdir = os.fspath(workdir)
  tf.io.gfile.makedirs(workdir)
  series = series if series is not None else input_pipeline.load_series(config.data, data_dir)
  # The data decides the frequency and the season (arch.season=0); the saved config has them.
  config = input_pipeline.resolve(config, series)
  config_lib.save(config, workdir)
  strategy = strategy_lib.create(config.distribution)
  seeds.set_all(config.seed)
  data = input_pipeline.prepare(config, data_dir, series=series)
  save_scaler(data.scaler, data.series.columns, workdir)

  baseline = create_model(config, data.channels, name=config.baseline)
  if config.model == ENSEMBLE:
    model, epochs_run, train_seconds = _fit_members(config, workdir, data, member_root and
                                                    os.fspath(member_root), verbose)
  else:
    with strategy.scope():
      model = create_model(config, data.channels)
    start = time.time()
    epochs_run = 0
    if not model.is_baseline:
      epochs_run = fit(model, data, config, strategy, workdir, verbose)
    train_seconds = time.time() - start
  model.save_weights(os.path.join(workdir, CHECKPOINT))

  results = {}
  for split in ("validation", "test"):
    history, truth = input_pipeline.arrays(data, split)
    results[split] = evaluate_lib.evaluate(model, baseline, history, truth, data.series.columns)
  _write_text(os.path.join(workdir, "metrics.json"), json.dumps(
      {**results, "train_seconds": train_seconds, "epochs_run": epochs_run}, indent=1))

  history, truth = input_pipeline.arrays(data, "test")
  window = len(history) // 2
  with tf.io.gfile.GFile(os.path.join(workdir, "forecast.png"), "wb") as png:
    evaluate_lib.plot_forecast(  # to a GFile: matplotlib writes PNG into any file object
        png, history[window], truth[window],
        {config.model: model(history[window:window + 1])[0].numpy(),
         config.baseline: baseline(history[window:window + 1])[0].numpy()},
        channel=data.channels - 1,
        title=f"{data.series.name} {data.series.columns[-1]}: test window {window} (standardised)")
  return TrainResult(model=model, baseline=baseline, data=data, validation=results["validation"],
                     test=results["test"], train_seconds=train_seconds, epochs_run=epochs_run,
                     config=config)
