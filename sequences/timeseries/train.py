"""Training and evaluation of a forecaster, as plain functions (flax examples style).

    create_model(config, channels)                 -> models.Forecaster
    train_and_evaluate(config, workdir, data_dir)  -> TrainResult

The loss is MSE on z-scored windows, which is exactly the protocol's test metric. The learning rate
halves after every epoch (DLinear's `type1` schedule): ETT's validation loss is noisy and a long
constant rate overfits the training period; early stopping on validation MSE keeps the best epoch.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import time

import numpy as np
import tensorflow as tf

from common import config as config_lib
from common.distribute import strategy as strategy_lib
from common.training import fit as fit_lib
from common.training import seeds
from sequences.timeseries import evaluate as evaluate_lib
from sequences.timeseries import input_pipeline, loaders, models

CHECKPOINT = "checkpoint/model"
SCALER_FILE = "scaler.json"


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


def model_config(config, channels: int) -> models.ModelConfig:
  """The typed model config: `config.arch` plus the window shape and channel count."""
  fields = {**config.arch.to_dict(), "lookback": config.lookback, "horizon": config.horizon,
            "channels": channels}
  return config_lib.to_dataclass(fields, models.ModelConfig, path="arch")


def create_model(config, channels: int, name: str | None = None) -> models.Forecaster:
  """Builds `config.model` (or `name`) for series with `channels` channels."""
  return models.create(name or config.model, model_config(config, channels))


def fit(model: models.Forecaster, data: input_pipeline.Data, config, strategy,
        workdir: pathlib.Path, verbose: int = 2) -> int:
  """Compiles and trains `model` (built under `strategy`) in place; returns the epochs run."""
  lr, decay = config.learning_rate, config.lr_decay
  with strategy.scope():
    model.compile(optimizer=tf.keras.optimizers.Adam(lr), loss="mse", metrics=["mae"],
                  steps_per_execution=strategy_lib.steps_per_execution(config.distribution),
                  jit_compile=strategy_lib.jit_compile(config.distribution))

  def dataset_fn(input_context):
    return input_pipeline.make_dataset(data, "train", config.batch_size, training=True,
                                       seed=config.seed, input_context=input_context)

  train_ds = strategy_lib.distribute(strategy, dataset_fn, config.batch_size)
  val_ds = input_pipeline.make_dataset(data, "validation", 512, training=False)
  history = fit_lib.fit(
      model, train_ds, epochs=config.epochs, workdir=str(workdir / "train"),
      validation_data=val_ds, early_stopping_patience=config.early_stopping_patience or None,
      extra_callbacks=[tf.keras.callbacks.LearningRateScheduler(lambda epoch: lr * decay**epoch)],
      verbose=verbose)
  return len(history.epoch)


def save_scaler(scaler, columns: tuple[str, ...], workdir: pathlib.Path) -> None:
  """Writes the training statistics the export needs to take raw values."""
  (workdir / SCALER_FILE).write_text(json.dumps(
      {"columns": list(columns), "mean": scaler.mean.tolist(), "std": scaler.std.tolist()},
      indent=1))


def load_scaler(workdir: pathlib.Path):
  from sequences.timeseries import windowing

  path = pathlib.Path(workdir) / SCALER_FILE
  if not path.is_file():
    raise FileNotFoundError(f"{path} does not exist; train first "
                            "(bazel run //sequences/timeseries:train -- --workdir=...)")
  d = json.loads(path.read_text())
  scaler = windowing.Scaler(mean=np.array(d["mean"], np.float32), std=np.array(d["std"], np.float32))
  return scaler, tuple(d["columns"])


def load_trained(workdir: str | pathlib.Path):
  """(config, model, scaler, columns) of a finished training run in `workdir`."""
  workdir = pathlib.Path(workdir)
  config = config_lib.read_saved(workdir)
  scaler, columns = load_scaler(workdir)
  model = create_model(config, len(columns))
  if not model.is_baseline:
    model.load_weights(str(workdir / CHECKPOINT)).expect_partial()
  return config, model, scaler, columns


def train_and_evaluate(config, workdir: str | pathlib.Path, data_dir=None, *,
                       series: loaders.Series | None = None, verbose: int = 2) -> TrainResult:
  """Trains `config.model`, evaluates it and `config.baseline` on validation and test.

  Writes to `workdir`: config.json/config.txt, the final weights (checkpoint/), scaler.json,
  train/ (common.training.fit's backups, epoch checkpoints, TensorBoard, train_log.csv), metrics.json and forecast.png (one test window of the last channel).
  """
  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  config_lib.save(config, workdir)
  strategy = strategy_lib.create(config.distribution)
  seeds.set_all(config.seed)
  data = input_pipeline.prepare(config, data_dir, series=series)
  save_scaler(data.scaler, data.series.columns, workdir)

  with strategy.scope():
    model = create_model(config, data.channels)
  baseline = create_model(config, data.channels, name=config.baseline)
  start = time.time()
  epochs_run = 0
  if not model.is_baseline:
    epochs_run = fit(model, data, config, strategy, workdir, verbose)
  train_seconds = time.time() - start
  model.save_weights(str(workdir / CHECKPOINT))

  results = {}
  for split in ("validation", "test"):
    history, truth = input_pipeline.arrays(data, split)
    results[split] = evaluate_lib.evaluate(model, baseline, history, truth, data.series.columns)
  (workdir / "metrics.json").write_text(json.dumps(
      {**results, "train_seconds": train_seconds, "epochs_run": epochs_run}, indent=1))

  history, truth = input_pipeline.arrays(data, "test")
  window = len(history) // 2
  evaluate_lib.plot_forecast(
      workdir / "forecast.png", history[window], truth[window],
      {config.model: model(history[window:window + 1])[0].numpy(),
       config.baseline: baseline(history[window:window + 1])[0].numpy()},
      channel=data.channels - 1,
      title=f"{data.series.name} {data.series.columns[-1]}: test window {window} (standardised)")
  return TrainResult(model=model, baseline=baseline, data=data, validation=results["validation"],
                     test=results["test"], train_seconds=train_seconds, epochs_run=epochs_run)
