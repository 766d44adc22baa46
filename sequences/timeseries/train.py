"""Training and evaluation of a forecaster, as plain functions (flax examples style).

    create_model(config, channels)                 -> models.Forecaster
    train_and_evaluate(config, workdir, data_dir)  -> common.training.result.TrainResult

The loss is MSE on z-scored windows, which is exactly the protocol's test metric. The learning rate
halves after every epoch (DLinear's `type1` schedule): ETT's validation loss is noisy and a long
constant rate overfits the training period; early stopping on validation MSE keeps the best epoch.

`model=Ensemble` trains each of `config.ensemble.members` as its own run under
`config.ensemble.member_root` and averages them (ensemble.py); a member finished there with the
same config is loaded, not retrained, so ensembles that share members train each once.

Workdirs may be any location TensorFlow's file systems know (`gs://bucket/run`, `ram://run`, a local
path): every file here goes through `tf.io.gfile`, and directories are plain strings (a pathlib.Path
would turn `gs://bucket` into a local folder `gs:/bucket`).
"""

from __future__ import annotations

import json
import os
import time

import numpy as np
import tensorflow as tf

from common import config as config_lib
from common.data import fingerprint
from common.distribute import strategy as strategy_lib
from common.training import fit as fit_lib
from common.training import result as result_lib
from common.training import seeds
from sequences.timeseries import data as data_lib
from sequences.timeseries import ensemble, input_pipeline, metrics, models, plot, windowing

CHECKPOINT = "checkpoint/model"
SCALER_FILE = "scaler.json"
ENSEMBLE = ensemble.ENSEMBLE
# Fields that change how a run is watched or where its members live, not what it trains: a run
# finished with other values is the same run (see `identity`).
_NOT_IDENTITY = ("verbose",)
_NOT_IDENTITY_ENSEMBLE = ("member_root",)


def model_config(config, channels: int) -> models.ModelConfig:
  """The typed model config: `config.arch` plus the window shape and channel count."""
  fields = {**config.arch.to_dict(), "lookback": config.lookback, "horizon": config.horizon,
            "channels": channels}
  return config_lib.to_dataclass(fields, models.ModelConfig, path="arch")


def create_model(config, channels: int, name: str | None = None) -> models.Forecaster:
  """Builds `config.model` (or `name`) for series with `channels` channels.

  `Ensemble` builds every member of `config.ensemble.members` (untrained) inside it.
  """
  name = name or config.model
  if name == ENSEMBLE:
    members = [create_model(m, channels) for m in ensemble.member_configs(config)]
    return models.Ensemble(model_config(config, channels), members,
                           name="ensemble").build_for_input()
  return models.create(name, model_config(config, channels))


def fit(model: models.Forecaster, data: input_pipeline.Data, config, strategy,
        workdir: str) -> int:
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
      early_stopping_patience=config.early_stopping_patience,
      extra_callbacks=[tf.keras.callbacks.LearningRateScheduler(lambda epoch: lr * decay**epoch)],
      verbose=config.verbose)
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
  """(scaler, columns) a training run in `workdir` saved."""
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


def identity(config) -> dict:
  """What defines a run's result: the config without its verbosity and members' root."""
  fields = json.loads(json.dumps(config.to_dict() if hasattr(config, "to_dict") else config))
  for key in _NOT_IDENTITY:
    fields.pop(key, None)
  for key in _NOT_IDENTITY_ENSEMBLE:
    fields.get("ensemble", {}).pop(key, None)
  return fields


def member_dir(member_root: str | os.PathLike, member_config) -> str:
  """Where an ensemble member trains: named after its model and config, readable and unique."""
  digest = fingerprint.Fingerprint("member").update(
      json.dumps(identity(member_config), sort_keys=True)).hexdigest()
  name = f"{member_config.model}-L{member_config.lookback}-seed{member_config.seed}-{digest[:10]}"
  return os.path.join(os.fspath(member_root), name)


def finished_result(config, workdir: str | os.PathLike, data_dir: str | None = None, *,
                    series: data_lib.Series | None = None) -> result_lib.TrainResult | None:
  """The run `train_and_evaluate(config, workdir)` already finished there, or None.

  A run counts as finished when `workdir` holds its result.json and a config.json equal to
  `config` (up to `identity`); the model is loaded from its checkpoint and the figures
  (metrics, epochs, seconds) are the recorded ones. `series` saves loading the data again.
  """
  workdir = os.fspath(workdir)
  if not tf.io.gfile.exists(os.path.join(workdir, result_lib.RESULT_FILE)):
    return None
  series = series if series is not None else data_lib.load(config.data, data_dir)
  config = input_pipeline.resolve(config, series)  # runs save the config their data resolved
  try:
    same = identity(json.loads(_read_text(os.path.join(workdir, "config.json")))) == identity(config)
    summary = result_lib.read_summary(workdir) if same else None
  except (OSError, tf.errors.OpError, json.JSONDecodeError):
    return None
  if summary is None:
    return None
  _, model, _, _ = load_trained(workdir)
  data = input_pipeline.prepare(config, data_dir, series=series)
  return result_lib.TrainResult(
      model=model, baseline=create_model(config, data.channels, config.baseline), data=data,
      metrics=summary["metrics"], data_fingerprint=summary["data_fingerprint"],
      epochs=summary["epochs"], train_seconds=summary["train_seconds"], config=config)


def _fit_members(config, workdir: str, data: input_pipeline.Data, data_dir: str | None):
  """Trains (or reuses) every member of `config.ensemble.members`; -> (Ensemble, epochs, seconds).

  A member whose directory under `config.ensemble.member_root` (default `workdir/members`, named
  by `member_dir`) holds a finished run with the same config is loaded instead of retrained, so
  ensembles that share members (seeds of one model, say) train each member once. Seconds and
  epochs are the members' recorded totals.
  """
  member_root = config.ensemble.member_root or os.path.join(workdir, "members")
  members, epochs, seconds = [], 0, 0.0
  for member_config in ensemble.member_configs(config):
    directory = member_dir(member_root, member_config)
    result = (finished_result(member_config, directory, data_dir, series=data.series)
              or _train(member_config, directory, data_dir, data.series, report=False))
    if not (np.allclose(result.data.scaler.mean, data.scaler.mean)
            and np.allclose(result.data.scaler.std, data.scaler.std)):
      raise ValueError(f"ensemble member {os.path.basename(directory)} was scaled with other training "
                       "statistics than the ensemble (a look-back that moves the training rows?); "
                       "members must share the ensemble's training split")
    members.append(result.model)
    epochs += result.epochs
    seconds += result.train_seconds
  model = models.Ensemble(model_config(config, data.channels), members,
                          name="ensemble").build_for_input()
  return model, epochs, seconds


def train_and_evaluate(config, workdir: str,
                       data_dir: str | None = None) -> result_lib.TrainResult:
  """Trains `config.model`, evaluates it and `config.baseline` on validation and test.

  Writes to `workdir`: config.json/config.txt, the final weights (checkpoint/), scaler.json,
  train/ (common.training.fit's backups, epoch checkpoints, TensorBoard, train_log.csv),
  result.json (metrics, data fingerprint, epochs, seconds) and forecast.png (one test window of
  the last channel). With `config.verbose` > 0 it prints the test report (model beside baseline).
  """
  series = data_lib.load(config.data, data_dir)
  return _train(config, os.fspath(workdir), data_dir, series, report=config.verbose > 0)


def _train(config, workdir: str, data_dir: str | None, series: data_lib.Series, *,
           report: bool) -> result_lib.TrainResult:
  """`train_and_evaluate` on a loaded series (ensemble members share the ensemble's)."""
  tf.io.gfile.makedirs(workdir)
  # The data decides the frequency and the season (arch.season=0); the saved config has them.
  config = input_pipeline.resolve(config, series)
  config_lib.save(config, workdir)
  strategy = strategy_lib.create(config.distribution)
  seeds.set_all(config.seed)
  data = input_pipeline.prepare(config, data_dir, series=series)
  save_scaler(data.scaler, data.series.columns, workdir)

  baseline = create_model(config, data.channels, name=config.baseline)
  if config.model == ENSEMBLE:
    model, epochs, train_seconds = _fit_members(config, workdir, data, data_dir)
  else:
    with strategy.scope():
      model = create_model(config, data.channels)
    start = time.time()
    epochs = 0
    if not model.is_baseline:
      epochs = fit(model, data, config, strategy, workdir)
    train_seconds = time.time() - start
  model.save_weights(os.path.join(workdir, CHECKPOINT))

  scores = {}
  for split in ("validation", "test"):
    history, truth = input_pipeline.arrays(data, split)
    scores[split] = metrics.evaluate(model, baseline, history, truth, data.series.columns)
  result = result_lib.TrainResult(
      model=model, baseline=baseline, data=data, metrics=scores,
      data_fingerprint=series.fingerprint, epochs=epochs, train_seconds=train_seconds,
      config=config)
  result.write(workdir)

  history, truth = input_pipeline.arrays(data, "test")
  window = len(history) // 2
  with tf.io.gfile.GFile(os.path.join(workdir, "forecast.png"), "wb") as png:
    plot.forecast(  # to a GFile: matplotlib writes PNG into any file object
        png, history[window], truth[window],
        {config.model: model(history[window:window + 1])[0].numpy(),
         config.baseline: baseline(history[window:window + 1])[0].numpy()},
        channel=data.channels - 1,
        title=f"{data.series.name} {data.series.columns[-1]}: test window {window} (standardised)")
  if report:
    print(f"\n{data.series.name}: {config.model} vs {config.baseline}, lookback "
          f"{config.lookback}, horizon {config.horizon}, trained {epochs} epochs in "
          f"{train_seconds:.1f} s; test set:")
    print(metrics.format_report(config.model, config.baseline, scores["test"]))
  return result
