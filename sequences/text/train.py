"""Training a text classifier: vocabulary, tokenizer, model, fit, evaluation — in plain sight.

    result = train.train_and_evaluate(config, workdir, data_dir)

1. load the dataset (`load_data`: the native loaders or a user's CSV / class files / class
   folders) and hash-split it by record key (`input_pipeline.hash_split`);
2. learn a WordPiece vocabulary from the training split only (`tokenizer.learn_vocabulary`);
3. tokenise each split once with the `Tokenizer` layer that the export will contain;
4. build `getattr(models, config.model)` under the configured `tf.distribute` strategy and fit it
   with `common.training.fit` (checkpoints, backup/restore, TensorBoard, CSV log, early stopping);
5. evaluate on the test split beside the majority baseline, per class, and draw the confusion
   matrix into the workdir.

The classic baselines (config.model=NBSVM | TfidfLogistic, `classic.py`) replace steps 2-4 with
their n-gram vectorizer and a full-batch fit tuned on inner folds of the training split;
config.model=Ensemble fits `config.ensemble.members` on the training split and their blend
weights on the validation split (`ensemble.py`).
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
from common.training import seeds
from sequences.text import classic, ensemble, formats, input_pipeline, loaders, models
from sequences.text import evaluate as evaluate_lib
from sequences.text import tokenizer as tokenizer_lib

# The trained (best-epoch) weights; checkpoints/ holds every epoch's.
FINAL_WEIGHTS = "final/weights"


@dataclasses.dataclass
class TrainResult:
  """What a training run produced (the export step needs model, tokenizer and class names)."""
  model: tf.keras.Model  # a models.TextClassifier, classic.LinearOnNgrams or ensemble.Ensemble
  tokenizer: tf.keras.layers.Layer  # its preprocessor: Tokenizer, NgramVectorizer or RawText
  data: loaders.TextDataset
  parts: dict[str, loaders.TextDataset]
  evaluation: dict
  train_seconds: float
  examples_per_second: float


ENSEMBLE = "Ensemble"


def load_data(config, data_dir: str | None = None) -> loaders.TextDataset:
  """`config.data` as a `TextDataset`: a user's layout (`formats`) or a native loader."""
  d = config.data
  if d.source in formats.LAYOUTS:
    if not d.path:
      raise ValueError(f"data.source={d.source} needs --config.data.path=<the file or folder>")
    return formats.read(d.path, d.source, encoding=d.encoding, text_column=d.text_column,
                        label_column=d.label_column)
  kwargs = {"encoding": d.encoding} if d.source == "polarity" else {}
  return loaders.load(d.source, data_dir, d.path, **kwargs)


def classic_config(config) -> classic.ClassicConfig:
  return config_lib.to_dataclass(config.classic, classic.ClassicConfig, path="classic")


def predict_text_logits(preprocessor, model, texts, batch_size: int = 512) -> np.ndarray:
  """Logits of `model(preprocessor(texts))` in batches: the exported path, from raw strings."""
  ds = tf.data.Dataset.from_tensor_slices(list(texts)).batch(batch_size)
  return np.concatenate([np.asarray(model(preprocessor(batch), training=False), np.float32)
                         for batch in ds], axis=0)


def fit_member(config, name: str, part: loaders.TextDataset, workdir: str | os.PathLike
               ) -> tuple[tf.keras.layers.Layer, tf.keras.Model]:
  """(preprocessor, model) of one model trained on raw texts: classic or neural."""
  if name in classic.CLASSIC_NAMES:
    fitted = classic.fit(name, part.texts, part.labels, part.num_classes, classic_config(config))
    logging.info("%s: chose %s (inner-fold accuracy %.4f)", name, fitted.hyperparameters,
                 fitted.validation_accuracy)
    return fitted.vectorizer, fitted.model
  tokenizer = create_tokenizer(config, part.texts, workdir)
  cfg = model_config(config, tokenizer.vocab_size, part.num_classes)
  ids = input_pipeline.tokenize(tokenizer, part.texts)
  model, _ = fit_classifier(config, name, cfg, (ids, part.labels), None, workdir)
  return tokenizer, model


def fit_ensemble(config, parts: dict[str, loaders.TextDataset], workdir: str
                 ) -> ensemble.Ensemble:
  """Members on the training split, blend weights on the validation split."""
  if "validation" not in parts:
    raise ValueError("config.model=Ensemble fits its blend weights on the validation split; "
                     "set data.validation_fraction > 0")
  names = [n.strip() for n in config.ensemble.members.split(",") if n.strip()]
  unknown = [n for n in names if n not in classic.CLASSIC_NAMES + models.MODEL_NAMES]
  if unknown or not names:
    raise ValueError(f"ensemble.members={config.ensemble.members!r}: {unknown or 'none'} not "
                     f"models; choose from {classic.CLASSIC_NAMES + models.MODEL_NAMES}")
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


def create_model(name: str, cfg: models.ModelConfig) -> models.TextClassifier:
  """`models.<name>(cfg)`; an unknown name is an error listing the choices."""
  if name not in models.MODEL_NAMES:
    raise ValueError(f"config.model={name!r} is not a text model; choose one of "
                     f"{', '.join(models.MODEL_NAMES)}")
  return getattr(models, name)(cfg)


def compile_model(model: tf.keras.Model, learning_rate: float, distribution) -> None:
  model.compile(
      optimizer=tf.keras.optimizers.Adam(learning_rate),
      loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
      metrics=[tf.keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
      steps_per_execution=strategy_lib.steps_per_execution(distribution),
      jit_compile=strategy_lib.jit_compile(distribution))


def fit_classifier(config, model_name: str, cfg: models.ModelConfig,
                   train: tuple[np.ndarray, np.ndarray],
                   validation: tuple[np.ndarray, np.ndarray] | None,
                   workdir: str | os.PathLike, *, learning_rate: float | None = None,
                   verbose: int | str = "auto") -> tuple[models.TextClassifier, float]:
  """Builds and fits `model_name` on tokenised (ids, labels); returns (model, seconds)."""
  seeds.set_all(config.seed)
  strategy = strategy_lib.create(config.distribution)
  with strategy.scope():
    model = create_model(model_name, cfg)
    # Build the variables now: BackupAndRestore can only restore into a built model.
    model(tf.zeros([1, cfg.sequence_length], tf.int32))
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
    patience = config.early_stopping_patience or None
  start = time.perf_counter()
  fit_lib.fit(model, train_ds, epochs=config.epochs, workdir=str(workdir),
              validation_data=validation_ds, early_stopping_patience=patience,
              steps_per_epoch=-(-len(ids) // config.batch_size), verbose=verbose)
  return model, time.perf_counter() - start


def predict_probabilities(model: tf.keras.Model, ids: np.ndarray,
                          batch_size: int = 256) -> np.ndarray:
  logits = model.predict(ids, batch_size=batch_size, verbose=0)
  return tf.nn.softmax(tf.cast(logits, tf.float32)).numpy()


def train_and_evaluate(config, workdir: str | os.PathLike, data_dir: str | None = None,
                       data: loaders.TextDataset | None = None) -> TrainResult:
  """Trains `config.model` on `config.data` and evaluates it on the hash test split.

  Args:
    config: a resolved config (configs/default.py).
    workdir: vocabulary, checkpoints, logs, metrics.json and confusion.png go here.
    data_dir: the real-data directory (for data.source=ag_news).
    data: an already loaded dataset (overrides config.data.source), e.g. in tests.

  Returns:
    A `TrainResult`; `result.evaluation` holds test metrics beside the majority baseline.
  """
  workdir = os.fspath(workdir)  # may be gs://: only tf.io.gfile and TensorFlow ops reach it
  tf.io.gfile.makedirs(workdir)
  if data is None:
    data = load_data(config, data_dir)
  fractions = (config.data.train_fraction, config.data.validation_fraction,
               1.0 - config.data.train_fraction - config.data.validation_fraction)
  parts = input_pipeline.hash_split(data, fractions)
  logging.info("%s: %s (hash split of record keys, fractions %s)", data.name,
               {k: len(v.texts) for k, v in parts.items()}, fractions)
  eval_name = "test" if "test" in parts else "validation"
  neural = config.model not in (*classic.CLASSIC_NAMES, ENSEMBLE)
  start = time.perf_counter()
  if neural:
    tokenizer = create_tokenizer(config, parts["train"].texts, workdir)
    ids = {name: input_pipeline.tokenize(tokenizer, part.texts) for name, part in parts.items()}
    cfg = model_config(config, tokenizer.vocab_size, data.num_classes)
    validation = (ids["validation"], parts["validation"].labels) if "validation" in parts else None
    model, seconds = fit_classifier(config, config.model, cfg,
                                    (ids["train"], parts["train"].labels), validation, workdir)
    probabilities = predict_probabilities(model, ids[eval_name])
  else:
    if config.model == ENSEMBLE:
      tokenizer = ensemble.RawText(config.tokenizer.max_input_bytes)
      model = fit_ensemble(config, parts, workdir)
    else:
      tokenizer, model = fit_member(config, config.model, parts["train"], workdir)
    seconds = time.perf_counter() - start
    probabilities = predict_text_logits(tokenizer, model, parts[eval_name].texts)
  evaluation = evaluate_lib.evaluate(parts[eval_name].labels, probabilities,
                                     parts["train"].labels, data.class_names)
  evaluation["split"] = eval_name
  print(evaluate_lib.format_report(
      evaluation, f"{config.model} on {data.name}, hash-split {eval_name} "
      f"({len(parts[eval_name].texts)} texts), beside the majority baseline"))
  _write_text(os.path.join(workdir, "metrics.json"), json.dumps(evaluation, indent=2))
  # What `export.py --workdir` needs to rebuild the model without the data.
  _write_text(os.path.join(workdir, "classes.txt"),
              "".join(f"{name}\n" for name in data.class_names))
  _write_text(os.path.join(workdir, "data_fingerprint.txt"), data.fingerprint)
  if neural:  # export.export_workdir rebuilds neural models from these weights
    model.save_weights(os.path.join(workdir, FINAL_WEIGHTS))
  evaluate_lib.plot_confusion(evaluation["confusion"], data.class_names,
                              os.path.join(workdir, "confusion.png"))
  epochs_run = _epochs_run(workdir) if neural else 1
  return TrainResult(model, tokenizer, data, parts, evaluation, seconds,
                     epochs_run * len(parts["train"].texts) / max(seconds, 1e-9))


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
