"""Every text model and baseline on AG News: accuracy, macro-F1, training time, examples/s.

    bazel run //sequences/text:bench                          # all models, 5-fold CV headline
    bazel run //sequences/text:bench -- --cv_models=CNN --epochs=2   # quicker

Protocol (say it with every figure): ../shared/data/ag_news holds only the official 7,600-row
*test* file (PROVENANCE.md), so this is NOT the official AG News protocol (120k train / 7.6k
test). Records are assigned to K folds by a FarmHash of their text (`input_pipeline.kfold`):
- the "hash split" table trains every model on folds 1..K-1 and tests on fold 0;
- the headline is K-fold cross-validation (mean ± std over folds) for `--cv_models`;
each fold learns its own WordPiece vocabulary from its training part. Fixed epochs, no early
stopping (no validation data is carved out). Published numbers on the official split, for scale
only: fastText bigram 92.5%, char-CNN 90.2% (Zhang et al. 2015; Joulin et al. 2016).
"""

from __future__ import annotations

import tempfile
import time

import numpy as np
from absl import app, flags

from common import config as config_lib
from common.data import data_dir as data_dir_lib
from common.metrics import slices
from sequences.text import evaluate as evaluate_lib
from sequences.text import input_pipeline, loaders, models, train
from sequences.text.configs import default as default_config

_FOLDS = flags.DEFINE_integer("folds", 5, "cross-validation folds (fold 0 = the hash split)")
_MODELS = flags.DEFINE_list("models", list(models.MODEL_NAMES), "models on the hash split")
_CV_MODELS = flags.DEFINE_list("cv_models", ["Linear", "FastText", "CNN"],
                               "models cross-validated over all folds (the headline)")
_EPOCHS = flags.DEFINE_integer("epochs", 3, "epochs per model (the CPU is shared: keep it small)")
data_dir_lib.define_flag()

# Adam learning rates: the zero-initialised linear model wants a larger step.
LEARNING_RATES = {"Linear": 1e-2}
MAJORITY = "Majority"


def _run_fold(config, train_part, test_part, model_names, workdir) -> dict[str, dict]:
  """Trains each model on train_part, returns {model: metrics + timing} on test_part."""
  start = time.perf_counter()
  tokenizer = train.create_tokenizer(config, train_part.texts, workdir)
  vocab_seconds = time.perf_counter() - start
  train_ids = input_pipeline.tokenize(tokenizer, train_part.texts)
  test_ids = input_pipeline.tokenize(tokenizer, test_part.texts)
  num_classes = len(train_part.class_names)
  majority = np.full_like(test_part.labels,
                          evaluate_lib.majority_baseline(train_part.labels, num_classes))
  rows = {MAJORITY: {**evaluate_lib.scores(test_part.labels, majority, num_classes),
                     "train_s": 0.0, "vocab_s": vocab_seconds}}
  cfg = train.model_config(config, tokenizer.vocab_size, num_classes)
  for name in model_names:
    model, seconds = train.fit_classifier(
        config, name, cfg, (train_ids, train_part.labels), None, f"{workdir}/{name}",
        learning_rate=LEARNING_RATES.get(name), verbose=0)
    start = time.perf_counter()
    probabilities = train.predict_probabilities(model, test_ids)
    predict_seconds = time.perf_counter() - start
    rows[name] = {**evaluate_lib.scores(test_part.labels, probabilities.argmax(-1), num_classes),
                  "train_s": seconds,
                  "train_ex_s": config.epochs * len(train_ids) / seconds,
                  "predict_ex_s": len(test_ids) / predict_seconds,
                  "params": model.count_params()}
    print(f"  {name}: accuracy {rows[name]['accuracy']:.4f} in {seconds:.0f} s", flush=True)
  return rows


def main(argv):
  del argv
  config = default_config.get_config()
  config.epochs = _EPOCHS.value
  config.early_stopping_patience = 0
  config = config_lib.resolve(config, print_fn=lambda *_: None)
  unknown = set(_MODELS.value + _CV_MODELS.value) - set(models.MODEL_NAMES)
  if unknown:
    raise app.UsageError(f"unknown models {sorted(unknown)}; choose from {models.MODEL_NAMES}")
  data = loaders.ag_news(data_dir_lib.resolve(flags.FLAGS.data_dir))
  folds = input_pipeline.kfold(data, _FOLDS.value)
  results = []  # one {model: row} per fold
  with tempfile.TemporaryDirectory() as tmp:
    for k, (train_part, test_part) in enumerate(folds):
      names = (list(dict.fromkeys(_MODELS.value + _CV_MODELS.value)) if k == 0
               else _CV_MODELS.value)
      if not names:
        break
      print(f"fold {k}: train {len(train_part.texts)}, test {len(test_part.texts)}; "
            f"models {names}", flush=True)
      results.append(_run_fold(config, train_part, test_part, names, f"{tmp}/fold{k}"))

  split = results[0]
  majority = split[MAJORITY]["accuracy"]
  table = {}
  for name in [MAJORITY, *[m for m in models.MODEL_NAMES if m in split]]:
    row = split[name]
    cv = [fold[name]["accuracy"] for fold in results if name in fold]
    cv_f1 = [fold[name]["macro_f1"] for fold in results if name in fold]
    table[name] = {
        "acc": row["accuracy"], "macro_f1": row["macro_f1"], "acc/majority": row["accuracy"] / majority,
        "cv_acc": float(np.mean(cv)) if len(cv) > 1 else None,
        "cv_acc_std": float(np.std(cv)) if len(cv) > 1 else None,
        "cv_macro_f1": float(np.mean(cv_f1)) if len(cv_f1) > 1 else None,
        "train_s": row["train_s"], "train_ex/s": row.get("train_ex_s"),
        "predict_ex/s": row.get("predict_ex_s"), "params": row.get("params"),
    }
  n_train, n_test = len(folds[0][0].texts), len(folds[0][1].texts)
  print()
  print(slices.format_table(
      table, key_header="model", digits=4,
      title=(f"AG News, hash split of the official test file (train {n_train} / test {n_test}, "
             f"fold 0 of {_FOLDS.value}); cv = mean over {len(results)} hash folds; "
             f"{config.epochs} epochs, sequence length {config.tokenizer.sequence_length}")))


if __name__ == "__main__":
  app.run(main)
