"""Training a text classifier: vocabulary, tokenizer, model, fit, evaluation — in plain sight.

    result = train.train_and_evaluate(config, workdir, data_dir)   # a common TrainResult

1. load the dataset (`data.load(config.data)`: a native source or a user's CSV / class files /
   class folders) and hash-split it by record key (`input_pipeline.hash_split`);
2. learn a WordPiece vocabulary from the training split only (`tokenizer.learn_vocabulary`);
3. tokenise each split once with the `Tokenizer` layer that the export will contain;
4. build `getattr(models, config.model)` under the configured `tf.distribute` strategy and fit it
   with `common.training.fit` (checkpoints, backup/restore, TensorBoard, CSV log, early stopping);
5. evaluate on the validation and test splits beside the majority baseline, per class, and draw
   the test confusion matrix into the workdir.

The run directory then holds everything `export --workdir` needs: config.json (written by the
caller), result.json (`TrainResult.write`), classes.txt, vocab.txt and final/weights for a neural
model, or final/saved_model (the raw-string module) for the classic baselines and the Ensemble.

The classic baselines (config.model=NBSVM | TfidfLogistic, `classic.py`) replace steps 2-4 with
their n-gram vectorizer and a full-batch fit tuned on inner folds of the training split;
config.model=Ensemble fits `config.ensemble.members` on the training split and their blend
weights on the validation split (`ensemble.py`).

`result.extras` holds what callers need beyond the common fields: "tokenizer" (the model's
raw-string preprocessor), "parts" (the split `TextDataset`s), "split" (the reported split) and
"examples_per_second".
"""

from __future__ import annotations

import dataclasses
import json
import os
import time

import numpy as np
import tensorflow as tf
from absl import logging

from common import config as config_lib
from common.distribute import strategy as strategy_lib
from common.training import fit as fit_lib
from common.training import result as result_lib
from common.training import seeds
from sequences.text import classic, classifier_module, ensemble, input_pipeline, models
from sequences.text import data as data_lib
from sequences.text import evaluate as evaluate_lib
from sequences.text import tokenizer as tokenizer_lib

# A neural model's trained (best-epoch) weights; checkpoints/ holds every epoch's.
FINAL_WEIGHTS = "final/weights"
# The classic baselines and the Ensemble: their whole raw-string module (a SavedModel), and the
# input limits its export records.
FINAL_MODULE = "final/saved_model"
FINAL_MODULE_INFO = "final/module.json"
CLASSES_FILE = "classes.txt"

ENSEMBLE = "Ensemble"


def classic_config(config) -> classic.ClassicConfig:
  return config_lib.to_dataclass(config.classic, classic.ClassicConfig, path="classic")


def predict_text_logits(preprocessor, model, texts, batch_size: int = 512) -> np.ndarray:
  """Logits of `model(preprocessor(texts))` in batches: the exported path, from raw strings."""
  ds = tf.data.Dataset.from_tensor_slices(list(texts)).batch(batch_size)
  return np.concatenate([np.asarray(model(preprocessor(batch), training=False), np.float32)
                         for batch in ds], axis=0)


def fit_member(config, name: str, part: data_lib.TextDataset, workdir: str | os.PathLike
               ) -> tuple[tf.keras.layers.Layer, tf.keras.Model]:
  """(preprocessor, model) of one model trained on raw texts: classic or neural."""
  if name in classic.CLASSIC_NAMES:
    fitted = classic.fit(name, part.texts, part.labels, part.num_classes, classic_config(config))
    logging.info("%s: chose %s (inner-fold accuracy %.4f)", name, fitted.hyperparameters,
                 fitted.validation_accuracy)
    return fitted.vectorizer, fitted.model
  tokenizer = create_tokenizer(config, part.texts, workdir)
  ids = input_pipeline.tokenize(tokenizer, part.texts)
  model, _ = fit_classifier(config, name, tokenizer.vocab_size, part.num_classes,
                            (ids, part.labels), None, workdir)
  return tokenizer, model


def fit_ensemble(config, parts: dict[str, data_lib.TextDataset], workdir: str
                 ) -> ensemble.Ensemble:
  """Members on the training split, blend weights on the validation split."""
  if "validation" not in parts:
    raise ValueError("config.model=Ensemble fits its blend weights on the validation split; "
                     "set data.validation_fraction > 0")
  names = list(config.ensemble.members)
  unknown = [n for n in names if n not in classic.CLASSIC_NAMES + models.MODEL_NAMES]
  if unknown or not names:
    raise ValueError(f"ensemble.members={tuple(names)}: {unknown or 'none'} not models; choose "
                     f"from {classic.CLASSIC_NAMES + models.MODEL_NAMES}")
  members, validation_logits = [], []
  for name in names:
    preprocessor, model = fit_member(config, name, parts["train"], os.path.join(workdir, name))
    members.append((name, preprocessor, model))
    validation_logits.append(predict_text_logits(preprocessor, model,
                                                 parts["validation"].texts))
  weights = ensemble.fit_weights(validation_logits, parts["validation"].labels)
  logging.info("ensemble weights (validation): %s", dict(zip(names, weights, strict=True)))
  return ensemble.Ensemble(members, weights)


def create_tokenizer(config, train_texts, workdir: str | os.PathLike) -> tokenizer_lib.Tokenizer:
  """Learns the vocabulary from `train_texts` into `<workdir>/vocab.txt`; returns the layer."""
  vocab_path = os.path.join(workdir, "vocab.txt")
  start = time.perf_counter()
  vocab = tokenizer_lib.learn_vocabulary(train_texts, vocab_path, config.tokenizer.vocab_size)
  logging.info("vocabulary: %d word pieces from %d training texts in %.1f s", len(vocab),
               len(train_texts), time.perf_counter() - start)
  return tokenizer_lib.Tokenizer(vocab_path, config.tokenizer.sequence_length,
                                 config.tokenizer.max_input_bytes)


def model_config(config, vocab_size: int, num_classes: int) -> models.ModelConfig:
  """The typed model boundary: `config.model_config` plus what the data decides."""
  base = config_lib.to_dataclass(config.model_config, models.ModelConfig, path="model_config")
  return dataclasses.replace(base, vocab_size=vocab_size, num_classes=num_classes,
                             sequence_length=config.tokenizer.sequence_length)


def create_model(config, vocab_size: int, num_classes: int,
                 name: str | None = None) -> models.TextClassifier:
  """`models.<name or config.model>` built from `model_config`; an unknown name lists the choices."""
  name = name or config.model
  if name not in models.MODEL_NAMES:
    raise ValueError(f"config.model={name!r} is not a text model; choose one of "
                     f"{', '.join(models.MODEL_NAMES)}")
  return getattr(models, name)(model_config(config, vocab_size, num_classes))


def compile_model(model: tf.keras.Model, learning_rate: float, distribution) -> None:
  model.compile(
      optimizer=tf.keras.optimizers.Adam(learning_rate),
      loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
      metrics=[tf.keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
      steps_per_execution=strategy_lib.steps_per_execution(distribution),
      jit_compile=strategy_lib.jit_compile(distribution))


def fit_classifier(config, model_name: str, vocab_size: int, num_classes: int,
                   train: tuple[np.ndarray, np.ndarray],
                   validation: tuple[np.ndarray, np.ndarray] | None,
                   workdir: str | os.PathLike, *, learning_rate: float | None = None,
                   verbose: int | str = "auto") -> tuple[models.TextClassifier, float]:
  """Builds and fits `model_name` on tokenised (ids, labels); returns (model, seconds)."""
  seeds.set_all(config.seed)
  strategy = strategy_lib.create(config.distribution)
  with strategy.scope():
    model = create_model(config, vocab_size, num_classes, model_name)
    # Build the variables now: BackupAndRestore can only restore into a built model.
    model(tf.zeros([1, config.tokenizer.sequence_length], tf.int32))
    compile_model(model, learning_rate or config.learning_rate, config.distribution)
  ids, labels = train
  train_ds = strategy_lib.distribute(
      strategy,
      lambda ctx: input_pipeline.classification_dataset(ids, labels, config.batch_size,
                                                        training=True, seed=config.seed,
                                                        input_context=ctx),
      config.batch_size)
  validation_ds = None
  patience = None
  if validation is not None and len(validation[0]):
    validation_ds = input_pipeline.classification_dataset(*validation, config.batch_size,
                                                          training=False)
    patience = config.early_stopping_patience
  start = time.perf_counter()
  fit_lib.fit(model, train_ds, epochs=config.epochs, workdir=str(workdir),
              validation_data=validation_ds, early_stopping_patience=patience,
              steps_per_epoch=-(-len(ids) // config.batch_size), verbose=verbose)
  return model, time.perf_counter() - start


def predict_probabilities(model: tf.keras.Model, ids: np.ndarray,
                          batch_size: int = 256) -> np.ndarray:
  logits = model.predict(ids, batch_size=batch_size, verbose=0)
  return tf.nn.softmax(tf.cast(logits, tf.float32)).numpy()


def train_and_evaluate(config, workdir: str, data_dir: str | None = None
                       ) -> result_lib.TrainResult:
  """Trains `config.model` on `config.data` and evaluates it on the hash validation/test splits.

  Args:
    config: a resolved config (configs/default.py).
    workdir: vocabulary, checkpoints, logs, result.json, classes.txt, the final model and
      confusion.png go here (local or gs://).
    data_dir: the real-data directory (for data.source=ag_news).

  Returns:
    A `common.training.result.TrainResult`: `metrics[split]` ("validation", "test") holds the
    model's and the majority baseline's accuracy and macro-F1, per class and the confusion
    matrix; `extras` the tokenizer, the split parts, the reported split and the throughput.
  """
  workdir = os.fspath(workdir)  # may be gs://: only tf.io.gfile and TensorFlow ops reach it
  tf.io.gfile.makedirs(workdir)
  data = data_lib.load(config.data, data_dir)
  fractions = (config.data.train_fraction, config.data.validation_fraction,
               1.0 - config.data.train_fraction - config.data.validation_fraction)
  parts = input_pipeline.hash_split(data, fractions)
  logging.info("%s: %s (hash split of record keys, fractions %s)", data.name,
               {k: len(v.texts) for k, v in parts.items()}, fractions)
  eval_splits = [name for name in ("validation", "test") if name in parts]
  if not eval_splits:
    raise ValueError(f"{data.name}: the hash split with fractions={fractions} left no validation "
                     "or test records to evaluate on; lower data.train_fraction")
  neural = config.model not in (*classic.CLASSIC_NAMES, ENSEMBLE)
  start = time.perf_counter()
  if neural:
    tokenizer = create_tokenizer(config, parts["train"].texts, workdir)
    ids = {name: input_pipeline.tokenize(tokenizer, part.texts) for name, part in parts.items()}
    validation = (ids["validation"], parts["validation"].labels) if "validation" in parts else None
    model, seconds = fit_classifier(config, config.model, tokenizer.vocab_size, data.num_classes,
                                    (ids["train"], parts["train"].labels), validation, workdir)
    probabilities = {name: predict_probabilities(model, ids[name]) for name in eval_splits}
  else:
    if config.model == ENSEMBLE:
      tokenizer = ensemble.RawText(config.tokenizer.max_input_bytes)
      model = fit_ensemble(config, parts, workdir)
    else:
      tokenizer, model = fit_member(config, config.model, parts["train"], workdir)
    seconds = time.perf_counter() - start
    probabilities = {name: predict_text_logits(tokenizer, model, parts[name].texts)
                     for name in eval_splits}
  metrics = {name: evaluate_lib.evaluate(parts[name].labels, probabilities[name],
                                         parts["train"].labels, data.class_names)
             for name in eval_splits}
  report = eval_splits[-1]  # test where there is one
  print(evaluate_lib.format_report(
      metrics[report], f"{config.model} on {data.name}, hash-split {report} "
      f"({len(parts[report].texts)} texts), beside the majority baseline"))
  # What `export.py --workdir` needs to rebuild the model without the data.
  _write_text(os.path.join(workdir, CLASSES_FILE),
              "".join(f"{name}\n" for name in data.class_names))
  if neural:  # export.export_workdir rebuilds neural models from these weights
    model.save_weights(os.path.join(workdir, FINAL_WEIGHTS))
  else:  # and publishes the others' saved raw-string module
    module = classifier_module.TextClassifierModule(tokenizer, model, data.class_names)
    tf.saved_model.save(module, os.path.join(workdir, FINAL_MODULE),
                        signatures=module.signatures())
    _write_text(os.path.join(workdir, FINAL_MODULE_INFO),
                json.dumps({"max_input_bytes": tokenizer.max_input_bytes}))
  evaluate_lib.plot_confusion(metrics[report]["confusion"], data.class_names,
                              os.path.join(workdir, "confusion.png"))
  epochs_run = _epochs_run(workdir) if neural else 1
  examples_per_second = epochs_run * len(parts["train"].texts) / max(seconds, 1e-9)
  result = result_lib.TrainResult(
      model=model,
      baseline=evaluate_lib.majority_baseline(parts["train"].labels, data.num_classes),
      data=data, metrics=metrics, data_fingerprint=data.fingerprint, epochs=epochs_run,
      train_seconds=seconds, config=config,
      extras={"tokenizer": tokenizer, "parts": parts, "split": report,
              "examples_per_second": examples_per_second})
  result.write(workdir)
  print(f"trained {config.model} in {seconds:.1f} s ({examples_per_second:.0f} examples/s)")
  return result


def _write_text(path: str, content: str) -> None:
  with tf.io.gfile.GFile(path, "w") as f:
    f.write(content)


def _epochs_run(workdir: str) -> int:
  """Epochs in the CSV log (early stopping may end before config.epochs)."""
  log = os.path.join(workdir, "train_log.csv")
  if not tf.io.gfile.exists(log):
    return 1
  with tf.io.gfile.GFile(log) as f:
    return max(1, len(f.read().strip().splitlines()) - 1)
