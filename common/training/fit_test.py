"""Tests for fit(): what it writes, who writes it, early stopping and its errors."""

import csv
import json

import numpy as np
import pytest
import tensorflow as tf

from common.training import fit as fit_lib
from common.training import seeds


def compiled_model():
  seeds.set_all(0)
  model = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
  model.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="mse")
  return model


def data(n=64):
  x = np.random.default_rng(0).normal(size=(n, 2)).astype(np.float32)
  y = x @ np.array([[1.0], [-2.0]], np.float32)
  return tf.data.Dataset.from_tensor_slices((x, y)).batch(16)


def test_fit_writes_checkpoints_summaries_and_csv(tmp_path):
  history = fit_lib.fit(compiled_model(), data(), epochs=3, workdir=str(tmp_path),
                        validation_data=data(), verbose=0)
  assert len(history.epoch) == 3
  assert history.history["loss"][-1] < history.history["loss"][0]
  rows = list(csv.DictReader((tmp_path / "train_log.csv").open()))
  assert [r["epoch"] for r in rows] == ["0", "1", "2"]
  assert {"loss", "val_loss"} <= set(rows[0])
  assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("epoch-0003")
  assert list((tmp_path / "tensorboard").rglob("events.out.tfevents.*"))
  # A finished run leaves no backup behind: a rerun in the same workdir starts over.
  assert not list((tmp_path / "backup").rglob("*.index"))


def test_checkpoint_restores_the_trained_weights(tmp_path):
  model = compiled_model()
  fit_lib.fit(model, data(), epochs=2, workdir=str(tmp_path), verbose=0)
  fresh = compiled_model()
  fresh.load_weights(str(tmp_path / "checkpoints" / "epoch-0002")).expect_partial()
  for a, b in zip(model.get_weights(), fresh.get_weights(), strict=True):
    np.testing.assert_array_equal(a, b)


def test_early_stopping_stops_when_the_monitor_stalls(tmp_path):
  model = compiled_model()
  model.optimizer.learning_rate.assign(0.0)  # nothing improves after the first epoch
  history = fit_lib.fit(model, data(), epochs=20, workdir=str(tmp_path), validation_data=data(),
                        early_stopping_patience=2, verbose=0)
  assert len(history.epoch) == 3  # the first epoch sets the best, then two without improvement


@pytest.mark.parametrize("patience", [0, None])
def test_patience_zero_or_none_runs_every_epoch(tmp_path, patience):
  model = compiled_model()
  model.optimizer.learning_rate.assign(0.0)  # nothing improves: any early stopping would stop at 2
  history = fit_lib.fit(model, data(), epochs=4, workdir=str(tmp_path), validation_data=data(),
                        early_stopping_patience=patience, verbose=0)
  assert len(history.epoch) == 4


def test_only_the_chief_writes_the_csv_log(tmp_path, monkeypatch):
  monkeypatch.setenv("TF_CONFIG", json.dumps(
      {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}))
  names = [type(c).__name__ for c in fit_lib.callbacks(str(tmp_path))]
  assert "CSVLogger" not in names
  # Under MultiWorkerMirroredStrategy every worker takes part in saving (Keras writes the
  # non-chief copy to a temporary directory), so the checkpoint callback stays.
  assert {"BackupAndRestore", "ModelCheckpoint", "TensorBoard"} <= set(names)
  monkeypatch.delenv("TF_CONFIG")
  assert "CSVLogger" in [type(c).__name__ for c in fit_lib.callbacks(str(tmp_path))]


def test_backup_frequency_is_passed_on(tmp_path):
  backup = next(c for c in fit_lib.callbacks(str(tmp_path), backup_every_steps=50)
                if isinstance(c, tf.keras.callbacks.BackupAndRestore))
  assert backup.save_freq == 50


@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": 0}, "epochs=0 must be a positive"),
    ({"epochs": 2, "early_stopping_patience": 1}, "no validation_data was given"),
    ({"epochs": 2, "backup_every_steps": 0}, "backup_every_steps=0 must be a positive"),
    ({"epochs": 2, "early_stopping_patience": -1, "monitor": "loss"}, "must be >= 0"),
])
def test_bad_arguments_are_explained(tmp_path, kwargs, message):
  with pytest.raises(ValueError, match=message):
    fit_lib.fit(compiled_model(), data(), workdir=str(tmp_path), verbose=0, **kwargs)


def test_uncompiled_model_is_explained(tmp_path):
  model = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
  with pytest.raises(ValueError, match="needs a compiled model"):
    fit_lib.fit(model, data(), epochs=1, workdir=str(tmp_path))
