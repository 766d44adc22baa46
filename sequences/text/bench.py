"""Text models beside the strong classic baselines, by stratified k-fold cross-validation.

    bazel run //sequences/text:bench                         # AG News sample, 5 folds (README)
    bazel run //sequences/text:bench -- --dataset=/data/rt-polaritydata --folds=10 --encoding=cp1252
    bazel run //sequences/text:bench -- --dataset=gs://b/reviews.csv --text_column=review \
        --label_column=stars

`--dataset` is any layout `data.detect` knows (a CSV file, a folder of one file per class, a
folder of one folder per class; local or gs://); without it the bench reads AG News from
--data_dir. Protocol, printed in the table title:
- records are dealt to `--folds` **stratified** folds (each class shuffled with `--seed`, then
  round-robin); every model is trained on K-1 folds and tested on the remaining one, K times;
- inside each training part, a stratified fifth is held out as **validation**: the classic
  baselines tune C / alpha / beta on 3 inner folds of the other four fifths, every member is
  fitted there and scored on the validation fifth, and the `Ensemble`'s blend weights are fitted
  on those validation scores. Then every member is refitted on the whole training part (same
  hyper-parameters and epochs) and the test fold is scored once;
- the neural models' WordPiece vocabulary and the n-gram vocabularies are learned from the texts
  of the whole training part (no labels); fixed epochs, no early stopping.
Columns: mean and std over folds; `vs_best_classic` is the mean paired difference in accuracy
points against the best classic baseline (by mean accuracy), `diff_std` its std over folds.

On AG News, ../shared/data/ag_news holds only the official 7,600-row *test* file (PROVENANCE.md):
this is NOT the official protocol (120k train / 7.6k test). Published figures on the official
split, for scale only: fastText bigram 92.5%, char-CNN 90.2%, NBSVM-style bigram models ~92%.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np
from absl import app, flags

from common import config as config_lib
from common.data import data_dir as data_dir_lib
from common.metrics import slices
from sequences.text import classic, ensemble, input_pipeline, models, train
from sequences.text import data as data_lib
from sequences.text import evaluate as evaluate_lib
from sequences.text.configs import default as default_config

_DATASET = flags.DEFINE_string("dataset", "", "a CSV file, a folder of class files or a folder "
                               "of class folders (local or gs://); empty = AG News from --data_dir")
_LAYOUT = flags.DEFINE_enum("layout", "", ["", "csv", "class_files", "class_folders"],
                            "the dataset's layout; empty = detected")
_ENCODING = flags.DEFINE_string("encoding", "utf-8", "text encoding of --dataset (e.g. cp1252)")
_TEXT_COLUMN = flags.DEFINE_string("text_column", "text", "CSV text column(s), comma-separated")
_LABEL_COLUMN = flags.DEFINE_string("label_column", "label", "CSV label column")
_FOLDS = flags.DEFINE_integer("folds", 5, "stratified cross-validation folds")
_SEED = flags.DEFINE_integer("seed", 0, "fold assignment and training seed")
_MODELS = flags.DEFINE_list("models", ["FastText", "CNN"],
                            f"neural models, of {', '.join(models.MODEL_NAMES)}")
_CLASSIC = flags.DEFINE_list("classic", list(classic.CLASSIC_NAMES), "classic baselines")
_ENSEMBLE = flags.DEFINE_bool("ensemble", True, "also fit the validation-weighted Ensemble of "
                              "every model above")
_EPOCHS = flags.DEFINE_integer("epochs", 3, "epochs per neural model (the CPU is shared)")
_CLASSIC_STEPS = flags.DEFINE_integer("classic_steps", classic.ClassicConfig.steps,
                                      "full-batch optimiser steps per classic fit")
data_dir_lib.define_flag()

# Adam learning rates: the zero-initialised linear model wants a larger step.
LEARNING_RATES = {"Linear": 1e-2}
MAJORITY = "Majority"
VALIDATION_FOLDS = 5  # one fifth of each training part is the ensemble's validation


def load_dataset(config) -> data_lib.TextDataset:
  """AG News, or the user's `--dataset` in its (detected) layout, through `config.data`."""
  if _DATASET.value:
    config.data.source = _LAYOUT.value or data_lib.detect(_DATASET.value)
    config.data.path = _DATASET.value
    config.data.encoding = _ENCODING.value
    config.data.text_column = _TEXT_COLUMN.value
    config.data.label_column = _LABEL_COLUMN.value
  return data_lib.load(config.data, flags.FLAGS.data_dir)


def _neural_logits(config, name, tokenizer, train_part, eval_texts, num_classes, workdir):
  """(logits on eval_texts, seconds of fit) for neural model `name` trained on train_part."""
  ids = input_pipeline.tokenize(tokenizer, train_part.texts)
  model, seconds = train.fit_classifier(config, name, tokenizer.vocab_size, num_classes,
                                        (ids, train_part.labels), None, workdir,
                                        learning_rate=LEARNING_RATES.get(name), verbose=0)
  logits = model.predict(input_pipeline.tokenize(tokenizer, eval_texts), batch_size=256,
                         verbose=0)
  return np.asarray(logits, np.float64), seconds


def run_fold(config, classic_cfg, train_part, test_part, workdir) -> dict[str, dict]:
  """Every model on one outer fold: {model: {"accuracy", "macro_f1", "train_s", ...}}."""
  num_classes = train_part.num_classes
  rows = {}
  majority = np.full_like(test_part.labels,
                          evaluate_lib.majority_baseline(train_part.labels, num_classes))
  rows[MAJORITY] = {**evaluate_lib.scores(test_part.labels, majority, num_classes),
                    "train_s": 0.0}
  valid_mask = classic.stratified_folds(train_part.labels, VALIDATION_FOLDS, _SEED.value) == 0
  fit_part = train_part.subset(np.flatnonzero(~valid_mask))
  valid_part = train_part.subset(np.flatnonzero(valid_mask))
  validation_logits, test_logits, total_seconds = {}, {}, 0.0
  for name in _CLASSIC.value:
    start = time.perf_counter()
    tuned = classic.fit(name, fit_part.texts, fit_part.labels, num_classes, classic_cfg)
    validation_logits[name] = tuned.predict_logits(valid_part.texts)
    total_seconds += time.perf_counter() - start
    start = time.perf_counter()
    final = classic.fit(name, train_part.texts, train_part.labels, num_classes, classic_cfg,
                        hyperparameters=tuned.hyperparameters)
    seconds = time.perf_counter() - start
    test_logits[name] = final.predict_logits(test_part.texts)
    rows[name] = {"train_s": seconds, "hyper": tuned.hyperparameters}
    total_seconds += seconds
  if _MODELS.value:
    tokenizer = train.create_tokenizer(config, train_part.texts, workdir)
  for name in _MODELS.value:
    if _ENSEMBLE.value:
      validation_logits[name], seconds = _neural_logits(
          config, name, tokenizer, fit_part, valid_part.texts, num_classes, f"{workdir}/{name}_v")
      total_seconds += seconds
    test_logits[name], seconds = _neural_logits(
        config, name, tokenizer, train_part, test_part.texts, num_classes, f"{workdir}/{name}")
    rows[name] = {"train_s": seconds}
    total_seconds += seconds
  for name, logits in test_logits.items():
    rows[name].update(evaluate_lib.scores(test_part.labels, logits.argmax(-1), num_classes))
  if _ENSEMBLE.value and len(test_logits) > 1:
    names = list(validation_logits)
    weights = ensemble.fit_weights([validation_logits[n] for n in names], valid_part.labels)
    blended = ensemble.blend([test_logits[n] for n in names], weights)
    rows["Ensemble"] = {**evaluate_lib.scores(test_part.labels, blended.argmax(-1), num_classes),
                        "train_s": total_seconds, "weights": dict(zip(names, weights, strict=True))}
  for name, row in rows.items():
    extra = row.get("hyper") or row.get("weights") or ""
    print(f"  {name}: accuracy {row['accuracy']:.4f} ({row['train_s']:.0f} s) {extra}",
          flush=True)
  return rows


def summarise(results: list[dict[str, dict]]) -> dict[str, dict]:
  """The table: each model's mean/std over folds beside the best classic baseline."""
  names = list(results[0])
  accuracy = {n: np.array([fold[n]["accuracy"] for fold in results]) for n in names}
  classics = [n for n in names if n in classic.CLASSIC_NAMES]
  best = max(classics, key=lambda n: accuracy[n].mean()) if classics else None
  table = {}
  for name in names:
    row = {"cv_acc": float(accuracy[name].mean()), "cv_acc_std": float(accuracy[name].std()),
           "cv_macro_f1": float(np.mean([fold[name]["macro_f1"] for fold in results]))}
    if best is not None:
      difference = 100 * (accuracy[name] - accuracy[best])
      row["vs_best_classic"] = float(difference.mean())
      row["diff_std"] = float(difference.std())
    row["train_s"] = float(np.mean([fold[name]["train_s"] for fold in results]))
    table[name if name != best else f"{name} (best classic)"] = row
  return table


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}")
  wall_start = time.perf_counter()
  config = default_config.get_config()
  config.epochs = _EPOCHS.value
  config.early_stopping_patience = 0
  config.seed = _SEED.value
  config = config_lib.resolve(config, print_fn=lambda *_: None)
  unknown = set(_MODELS.value) - set(models.MODEL_NAMES)
  unknown |= set(_CLASSIC.value) - set(classic.CLASSIC_NAMES)
  if unknown:
    raise app.UsageError(f"unknown models {sorted(unknown)}; neural: {models.MODEL_NAMES}, "
                         f"classic: {classic.CLASSIC_NAMES}")
  if _FOLDS.value < 2:
    raise app.UsageError(f"--folds={_FOLDS.value}: cross-validation needs at least 2 folds")
  classic_cfg = classic.ClassicConfig(steps=_CLASSIC_STEPS.value, seed=_SEED.value)
  data = load_dataset(config)
  smallest = int(np.bincount(data.labels).min())
  if smallest < _FOLDS.value:
    raise app.UsageError(f"{data.name}: the smallest class has {smallest} records, fewer than "
                         f"--folds={_FOLDS.value}; use fewer folds or add data")
  folds = classic.stratified_folds(data.labels, _FOLDS.value, _SEED.value)
  results = []
  with tempfile.TemporaryDirectory() as tmp:
    for k in range(_FOLDS.value):
      train_part = data.subset(np.flatnonzero(folds != k))
      test_part = data.subset(np.flatnonzero(folds == k))
      print(f"fold {k}: train {len(train_part.texts)}, test {len(test_part.texts)}", flush=True)
      results.append(run_fold(config, classic_cfg, train_part, test_part, f"{tmp}/fold{k}"))
  source = (f"{data.name} ({len(data.texts)} texts, {data.num_classes} classes)"
            if _DATASET.value else
            f"AG News sample: the official test file only ({len(data.texts)} texts)")
  title = (f"{source}; stratified {_FOLDS.value}-fold CV, seed {_SEED.value}, mean ± std over "
           f"folds; blend weights and classic C/alpha/beta chosen on validation inside each "
           f"training part; {config.epochs} epochs, sequence length "
           f"{config.tokenizer.sequence_length}; vs_best_classic/diff_std in accuracy points")
  print()
  print(slices.format_table(summarise(results), key_header="model", digits=4, title=title))
  print(f"bench wall time {time.perf_counter() - wall_start:.0f} s")


if __name__ == "__main__":
  app.run(main)
