"""ETT under the standard protocol: every model and baseline, every horizon, beside the papers.

    bazel run //sequences/timeseries:bench                 # full: 2 datasets × 4 horizons × every SETTINGS run
    bazel run //sequences/timeseries:bench -- --quick      # H=96, fewer models and epochs (minutes)
    bazel run //sequences/timeseries:bench -- --datasets=ETTh1 --horizons=96 --models=Linear,PatchTST
    bazel run //sequences/timeseries:bench -- --datasets=ETTh1 --horizons=96 --models=Linear \
        --set=lookback=720,learning_rate=1e-3       # a variant: choose by the validation table only
    bazel run //sequences/timeseries:bench -- --datasets=ETTh1 --horizons=96 --models=Ensemble \
        --members='Linear-L512;Linear-L512[seed=1]' --members='Linear-L512;PatchTST' --workdir=/tmp/b
                                                    # ensembles of bench rows; members are shared
    bazel run //sequences/timeseries:bench -- --datasets=ETTm1,ETTm2   # the 15-minute files
    bazel run //sequences/timeseries:bench -- --datasets=/data/my_series.csv  # any ETT-format CSV

Protocol (Informer/Autoformer/DLinear/PatchTST `Dataset_ETT_hour`/`Dataset_ETT_minute`): 12/4/4
months of 30 days counted in rows of the data's frequency, which is read from the timestamps
(`frequency.py`): on hourly ETTh train rows [0, 8640), validation [8640 - L, 11520), test
[11520 - L, 14400); on 15-minute ETTm [0, 34560), [34560 - L, 46080), [46080 - L, 57600); on daily
data [0, 360), [360 - L, 480), [480 - L, 600). z-scores from the training rows; all channels in and
out; MSE and MAE over the standardised test set. The seasonal-naive period is one day on sub-daily
data (24 rows hourly, 96 at 15 minutes) and one week (7 rows) on daily data; each dataset's first
line in the output states its frequency, borders and period. We score *every* test window (2785 at L=336,
H=96); the reference code drops the last incomplete batch of 32 (`drop_last=True`), i.e. up to 31
windows at the end of the test period, which moves figures in the third decimal.

The bench also prints each run's MSE/MAE on the protocol's validation split (rows [8640, 11520) as
targets; the same target rows for every look-back, so look-backs compare fairly there). Variants
(`--set`) are to be chosen on that table, never on the test columns.

Published figures: PatchTST/64 (L=512) and DLinear (L=336) from the PatchTST paper (Nie et al.,
ICLR 2023, Table 3), for all four ETT files; Informer (ETTh only) from the Informer paper's
multivariate table (Zhou et al., AAAI 2021). A CSV given by path has no published figures unless
its bytes are one of the four ETT files (then it is named after it).
Training times are wall-clock on this machine's shared 2-core CPU (other jobs run beside it).
"""

from __future__ import annotations

import ast
import os
import re
import tempfile
import time

import ml_collections
import tensorflow as tf
from absl import app, flags, logging

from common.data import fingerprint
from sequences.timeseries import frequency, input_pipeline, train, windowing
from sequences.timeseries.configs import default
from sequences.timeseries.data import ett

_QUICK = flags.DEFINE_bool("quick", False, "H=96 only, Linear/DLinear/PatchTST + baselines, "
                           "fewer epochs: a few minutes instead of an hour.")
_DATASETS = flags.DEFINE_list(
    "datasets", ["ETTh1", "ETTh2"], "ETT files to run (ETTh1, ETTh2, ETTm1, ETTm2 under "
    "--data_dir), or paths of ETT-format CSVs (`date,col1,...`, hourly, 15-minute or daily).")
_HORIZONS = flags.DEFINE_list("horizons", None, "Horizons (default 96,192,336,720; --quick: 96).")
_MODELS = flags.DEFINE_list("models", None, "Models (default: all; --quick: a subset).")
_WORKDIR = flags.DEFINE_string("workdir", None, "Where runs write (default: a temporary dir).")
_MARKDOWN = flags.DEFINE_string("markdown", None, "Also write the table as Markdown to this file.")
_MEMBERS = flags.DEFINE_multi_string(
    "members", [], "For ensemble runs (SETTINGS entries with model=Ensemble): one run per value "
    "instead of the entry's own members; ';'-separated SETTINGS names or models, each optionally "
    "with [key=value,...], e.g. --members='Linear-L512;Linear-L512[seed=1]' (repeat the flag).")
_SET = flags.DEFINE_list("set", [], "key=value overrides for every run (e.g. lookback=720,"
                        "learning_rate=1e-3,arch.dropout=0.2); rows are named model[key=value,...].")
flags.DEFINE_string("data_dir", None, "Datasets root (default: $TRELLIS_DATA_DIR or ../shared/data).")

# (MSE, MAE) at horizons 96/192/336/720.
PUBLISHED = {
    "PatchTST/64": {
        "ETTh1": {96: (0.370, 0.400), 192: (0.413, 0.429), 336: (0.422, 0.440), 720: (0.447, 0.468)},
        "ETTh2": {96: (0.274, 0.336), 192: (0.341, 0.382), 336: (0.329, 0.384), 720: (0.379, 0.422)},
        "ETTm1": {96: (0.293, 0.346), 192: (0.333, 0.370), 336: (0.369, 0.392), 720: (0.416, 0.420)},
        "ETTm2": {96: (0.166, 0.256), 192: (0.223, 0.296), 336: (0.274, 0.329), 720: (0.362, 0.385)},
    },
    "DLinear": {
        "ETTh1": {96: (0.375, 0.399), 192: (0.405, 0.416), 336: (0.439, 0.443), 720: (0.472, 0.490)},
        "ETTh2": {96: (0.289, 0.353), 192: (0.383, 0.418), 336: (0.448, 0.465), 720: (0.605, 0.551)},
        "ETTm1": {96: (0.299, 0.343), 192: (0.335, 0.365), 336: (0.369, 0.386), 720: (0.425, 0.421)},
        "ETTm2": {96: (0.167, 0.260), 192: (0.224, 0.303), 336: (0.281, 0.342), 720: (0.397, 0.421)},
    },
    "Informer": {
        "ETTh1": {96: (0.865, 0.713), 192: (1.008, 0.792), 336: (1.107, 0.809), 720: (1.181, 0.865)},
        "ETTh2": {96: (3.755, 1.525), 192: (5.602, 1.931), 336: (4.721, 1.835), 720: (3.647, 1.625)},
    },
}

# Per-run training settings on top of configs/default.py (lookback 336 unless said otherwise);
# a key that is not a model name says which model it runs with "model".
# Linear models converge in a few epochs at a high rate that halves every epoch (DLinear's recipe);
# the neural models get a lower rate and a slower decay, and few epochs to fit a shared CPU.
SETTINGS = {
    "SeasonalNaive": {},
    "LastValue": {},
    "Linear": {},
    "Linear-L512": {"model": "Linear", "lookback": 512},  # PatchTST/64's look-back
    "DLinear": {},
  # Chosen on ETTh1 H=96 *validation* MSE among Linear/DLinear at L=336/512/720 and two Linear-L512
  # optimiser variants (README, "Choosing the H=96 variant"): 0.6646, level with Linear-L512's 0.6648.
  "DLinear-L512": {"model": "DLinear", "lookback": 512},
    "GRU": {"learning_rate": 2e-3, "lr_decay": 0.7, "batch_size": 64, "epochs": 4,
            "early_stopping_patience": 2, "arch.num_layers": 1},
    "LSTM": {"learning_rate": 2e-3, "lr_decay": 0.7, "batch_size": 64, "epochs": 4,
             "early_stopping_patience": 2, "arch.num_layers": 1},
    "DilatedCNN": {"learning_rate": 1e-3, "lr_decay": 0.7, "batch_size": 64, "epochs": 4,
                   "early_stopping_patience": 2, "arch.hidden": 32, "arch.num_layers": 8},
    "PatchTST": {"learning_rate": 1e-3, "lr_decay": 0.8, "batch_size": 64, "epochs": 4,
                 "early_stopping_patience": 2, "arch.dropout": 0.2},
    # The mean of three rows above, each trained exactly as its row (so after them it trains
    # nothing). Chosen on ETTh1 H=96 *validation* MSE (0.6575) among 12 ensembles of those rows
    # and the single variants (README, "Choosing the H=96 variant"); `--members` runs others.
    # configs/ensemble.py is the same ensemble for //sequences/timeseries:train.
    "Ensemble": {"model": "Ensemble", "members": ("Linear-L512", "DLinear-L512", "GRU")},
}
QUICK_MODELS = ("SeasonalNaive", "LastValue", "Linear", "DLinear", "PatchTST")
QUICK_EPOCHS = {"Linear": 6, "DLinear": 6, "PatchTST": 2}


def parse_overrides(items) -> dict:
  """["lookback=720", "learning_rate=1e-3"] -> {"lookback": 720, "learning_rate": 0.001}."""
  overrides = {}
  for item in items:
    key, sep, text = item.partition("=")
    if not sep or not key:
      raise app.UsageError(f"--set takes key=value items, got {item!r}")
    try:
      overrides[key] = ast.literal_eval(text)
    except (ValueError, SyntaxError):
      overrides[key] = text
  return overrides


def run_label(model: str, overrides: dict) -> str:
  if not overrides:
    return model
  return model + "[" + ",".join(f"{k}={v}" for k, v in overrides.items()) + "]"


def apply_settings(config: ml_collections.ConfigDict, settings: dict) -> None:
  """Sets dotted keys (`arch.dropout`) in place; the locked config rejects misspelled ones."""
  for key, value in settings.items():
    node = config
    *parents, leaf = key.split(".")
    for p in parents:
      node = node[p]
    node[leaf] = value


_MEMBER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*(?:\[(.*)\])?\s*$")


def parse_members(text: str) -> list[tuple[str, dict]]:
  """A `--members` value -> [(bench row name, overrides)]: "Linear-L512;GRU[seed=1]" ->
  [("Linear-L512", {}), ("GRU", {"seed": 1})]. (The flag's syntax only: a config names its
  members as config code, see ensemble.py.)"""
  parts = [p for p in (part.strip() for part in text.split(";")) if p]
  if not parts:
    raise app.UsageError("--members needs ';'-separated bench rows, e.g. 'Linear-L512;GRU'")
  members = []
  for part in parts:
    match = _MEMBER.match(part)
    if not match:
      raise app.UsageError(f"--members item {part!r} is not `Row` or `Row[key=value,...]` "
                           "(separate members with ';', e.g. 'Linear-L512;GRU[seed=1]')")
    items = [item for item in (match.group(2) or "").split(",") if item.strip()]
    members.append((match.group(1), parse_overrides(item.strip() for item in items)))
  return members


def expand_members(rows) -> ml_collections.ConfigDict:
  """Ensemble members named by SETTINGS rows -> `config.ensemble.members` with those rows' settings.

  `rows` are (row name, overrides) pairs or names: ("Linear-L512", {"seed": 1}) becomes the member
  {"model": "Linear", "lookback": 512, "seed": 1}, a GRU row's member carries the GRU row's rate,
  epochs and `arch.num_layers`: a member is trained exactly as the bench trains that row.
  """
  members = {}
  for i, row in enumerate(rows):
    name, extra = (row, {}) if isinstance(row, str) else row
    if name not in SETTINGS:
      raise app.UsageError(f"ensemble member {name!r} is not a bench row; choose from "
                           f"{', '.join(n for n in SETTINGS if n != 'Ensemble')}")
    settings = dict(SETTINGS[name])
    if settings.get("model") == "Ensemble":
      raise app.UsageError(f"ensemble member {name!r} is itself an ensemble; list its members")
    model = settings.pop("model", name)
    # Spelled out: a member would otherwise inherit the ensemble's (longest) look-back.
    settings.setdefault("lookback", default.get_config().lookback)
    member = {"model": model}
    for key, value in {**settings, **extra}.items():
      *parents, leaf = key.split(".")
      node = member
      for p in parents:
        node = node.setdefault(p, {})
      node[leaf] = value
    members[f"m{i}_{re.sub('[^a-z0-9]+', '_', name.lower())}"] = member
  return ml_collections.ConfigDict(members)


def bench_config(run_name: str, dataset: str, horizon: int, quick: bool, overrides=None,
                 members: str | None = None):
  """configs/default.py with the run's settings, `overrides`, the dataset and the horizon.

  For an ensemble entry, `members` (a `--members` value) replaces its own; the ensemble reads as
  many rows as its longest member.
  """
  config = default.get_config()
  config.model = run_name
  config.verbose = 0  # the bench prints its own rows
  if is_path(dataset):
    config.data.path = dataset  # data.source=ett: an ETT-format CSV by path
  else:
    config.data.name = dataset
  config.horizon = horizon
  settings = dict(SETTINGS[run_name])
  member_rows = settings.pop("members", ())
  apply_settings(config, {**settings, **(overrides or {})})
  if config.model == "Ensemble":
    config.ensemble.members = expand_members(parse_members(members) if members else member_rows)
    config.lookback = max(member.lookback for member in config.ensemble.members.values())
  elif members:
    raise app.UsageError(f"--members applies to ensemble runs; {run_name} is not one")
  if quick and run_name in QUICK_EPOCHS:
    config.epochs = QUICK_EPOCHS[run_name]
  return config


def is_path(dataset: str) -> bool:
  """`--datasets` items are ETT names (ETTh1, ...) or paths of CSV files."""
  return "/" in dataset or dataset.endswith(".csv")


def load(dataset: str, data_dir):
  """The series an item of `--datasets` names (a checksummed ETT file, or a CSV path)."""
  if is_path(dataset):
    return ett.load_format(dataset)
  return ett.load(data_dir, dataset)


def protocol_line(series) -> str:
  """What the data decided: frequency, the ETT borders (target rows) and the seasonal period."""
  freq = frequency.infer(series.timestamps, series.source or series.name)
  b = windowing.ett_borders(len(series), 1, freq.rows_per_month, source=series.name)
  return (f"{series.name}: {freq.name} data, {len(series)} rows; ETT split (targets) train "
          f"[0, {b.end['train']}) validation [{b.target_start['validation']}, "
          f"{b.end['validation']}) test [{b.target_start['test']}, {b.end['test']}); "
          f"seasonal-naive period {freq.season} rows ({freq.season_text})")


def run(datasets, horizons, models, workdir: str, data_dir, quick: bool,
        overrides=None, members=()) -> list[dict]:
  """Trains and scores every (dataset, horizon, model); returns one row per run.

  `datasets` are `--datasets` items, or a dict of them to their loaded series.

  Single models (without --set) and ensemble members train under `workdir/<dataset>_<H>_members`,
  one directory per config: a run finished there (same config) is reused, by ensembles and by
  later bench invocations with the same --workdir, with its recorded figures and seconds.
  """
  rows = []
  for dataset in datasets:
    series = datasets[dataset] if isinstance(datasets, dict) else load(dataset, data_dir)
    for horizon in horizons:
      for model in models:
        is_ensemble = SETTINGS[model].get("model", model) == "Ensemble"
        for member_text in (members or [None]) if is_ensemble else [None]:
          rows.append(_run_one(model, horizon, series, workdir, data_dir, quick, overrides,
                               member_text, dataset))
  return rows


def _run_one(model, horizon, series, workdir, data_dir, quick, overrides, member_text,
             dataset) -> dict:
  # Resolved (frequency, season) before it names directories, so an ensemble's members find the
  # single-model rows they equal.
  config = input_pipeline.resolve(
      bench_config(model, dataset, horizon, quick, overrides, member_text), series)
  dataset = series.name
  label = run_label(model, overrides or {})
  if member_text:
    label += "(" + member_text + ")"
  member_root = os.path.join(workdir, f"{dataset}_{horizon}_members")
  config.ensemble.member_root = member_root
  # A single model trains where an ensemble looks for its members, so an ensemble of rows already
  # run (SETTINGS lists it after them) trains nothing; a finished run there is reused.
  if config.model == "Ensemble" or overrides:
    run_dir = os.path.join(workdir, f"{dataset}_{horizon}_{_slug(label)}")
  else:
    run_dir = train.member_dir(member_root, config)
  start = time.time()
  result = (train.finished_result(config, run_dir, data_dir, series=series)
            or train.train_and_evaluate(config, run_dir, data_dir))
  test, validation = result.metrics["test"], result.metrics["validation"]
  row = {"dataset": dataset, "horizon": horizon, "model": label,
         "mse": test["model"]["mse"], "mae": test["model"]["mae"],
         "val_mse": validation["model"]["mse"], "val_mae": validation["model"]["mae"],
         "epochs": result.epochs, "train_s": result.train_seconds,
         "total_s": time.time() - start}
  if config.baseline == "SeasonalNaive":  # scored on the same test windows beside the model
    row["naive_mse"] = test["baseline"]["mse"]
  print(_row_text(row, [row]), flush=True)
  print(f"  validation MSE {row['val_mse']:.4f} MAE {row['val_mae']:.4f}", flush=True)
  return row


def _slug(label: str) -> str:
  """A run label as a directory name (ensemble labels hold ';', '[' and '=')."""
  text = re.sub(r"[^A-Za-z0-9_.=,+-]+", "_", label)
  if len(text) <= 100:
    return text
  return text[:80] + "-" + fingerprint.Fingerprint("label").update(label).hexdigest()[:12]


def _published(dataset, horizon, name):
  return PUBLISHED[name].get(dataset, {}).get(horizon, (float("nan"), float("nan")))


def _naive_mse(row, rows):
  if "naive_mse" in row:
    return row["naive_mse"]
  for r in rows:
    if (r["dataset"], r["horizon"], r["model"].split("[")[0]) == (row["dataset"], row["horizon"],
                                                                  "SeasonalNaive"):
      return r["mse"]
  return float("nan")


HEADER = ("| data | H | model | MSE | MAE | MSE / PatchTST/64 | MSE / seasonal naive | "
          "PatchTST/64 | DLinear | Informer | epochs | train s |")


def _row_text(row, rows) -> str:
  d, h = row["dataset"], row["horizon"]
  p, dl, inf = (_published(d, h, n) for n in ("PatchTST/64", "DLinear", "Informer"))
  return (f"| {d} | {h} | {row['model']} | {row['mse']:.3f} | {row['mae']:.3f} | "
          f"{row['mse'] / p[0]:.3f} | {row['mse'] / _naive_mse(row, rows):.3f} | "
          f"{p[0]:.3f}/{p[1]:.3f} | {dl[0]:.3f}/{dl[1]:.3f} | {inf[0]:.3f}/{inf[1]:.3f} | "
          f"{row['epochs']} | {row['train_s']:.0f} |")


def _separator(header: str = HEADER) -> str:
  return "|" + "|".join("---" for _ in range(header.count("|") - 1)) + "|"


VAL_HEADER = "| data | H | model | validation MSE | validation MAE | epochs |"


def validation_table(rows) -> str:
  """Validation-split errors, sorted by validation MSE: the table to choose variants on."""
  rows = sorted(rows, key=lambda r: (r["dataset"], r["horizon"], r["val_mse"]))
  return "\n".join([VAL_HEADER, _separator(VAL_HEADER)] + [
      f"| {r['dataset']} | {r['horizon']} | {r['model']} | {r['val_mse']:.4f} | "
      f"{r['val_mae']:.4f} | {r['epochs']} |" for r in rows])


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # per-epoch checkpoint logs would drown the table
  quick = _QUICK.value
  horizons = [int(h) for h in (_HORIZONS.value or (["96"] if quick else ["96", "192", "336", "720"]))]
  models = _MODELS.value or (QUICK_MODELS if quick else list(SETTINGS))
  unknown = [m for m in models if m not in SETTINGS]
  if unknown:
    raise app.UsageError(f"unknown models {unknown}; choose from {', '.join(SETTINGS)}")
  overrides = parse_overrides(_SET.value)
  workdir = _WORKDIR.value or tempfile.mkdtemp(prefix="ts_bench_")  # a URL works too (tf.io.gfile)
  print(f"ETT standard protocol, lookback {overrides.get('lookback', 336)}, "
        f"{'quick' if quick else 'full'} run; workdir {workdir}"
        + (f"; overrides {overrides}" if overrides else ""))
  series = {dataset: load(dataset, flags.FLAGS.data_dir) for dataset in _DATASETS.value}
  for s in series.values():
    print(protocol_line(s))
  print(HEADER)
  print(_separator(), flush=True)
  rows = run(series, horizons, models, workdir, flags.FLAGS.data_dir, quick, overrides,
             _MEMBERS.value)
  print("\nSummary (sorted by dataset, horizon, MSE):")
  rows_sorted = sorted(rows, key=lambda r: (r["dataset"], r["horizon"], r["mse"]))
  text = HEADER + "\n" + _separator() + "\n" + "\n".join(_row_text(r, rows) for r in rows_sorted)
  print(text)
  print("\nValidation split (choose variants here, not on test):")
  val_text = validation_table(rows)
  print(val_text)
  if _MARKDOWN.value:
    with tf.io.gfile.GFile(_MARKDOWN.value, "w") as f:
      f.write(text + "\n\nValidation split:\n\n" + val_text + "\n")


if __name__ == "__main__":
  app.run(main)
