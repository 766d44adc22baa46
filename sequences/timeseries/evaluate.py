"""Re-evaluates a finished training run on a split of its data: the model beside its baseline.

    bazel run //sequences/timeseries:evaluate -- --workdir=/tmp/ts
    bazel run //sequences/timeseries:evaluate -- --workdir=/tmp/ts --split=validation

The run's saved config names the data (pass the same --data_dir as training); the report is
`metrics.format_report`'s: overall MSE/MAE, per horizon step and per channel, in standardised
units. Training already scores both splits (result.json); this re-scores the saved weights, e.g.
after the data file was re-fetched or on another machine. Depends on `train` (to rebuild the model
from the workdir); `train` scores with `metrics` and never imports this module.
"""

from __future__ import annotations

from absl import app, flags

from common.data import data_dir as data_dir_lib
from sequences.timeseries import input_pipeline, metrics, train

SPLITS = ("validation", "test")


def evaluate_run(workdir: str, data_dir: str | None = None, split: str = "test") -> dict:
  """The `metrics.evaluate` dict of the run in `workdir` on `split`, plus its names.

  Returns:
    `metrics.evaluate`'s dict with "series", "model_name", "baseline_name" and "config" added.

  Raises:
    ValueError: an unknown split. FileNotFoundError / ConfigError: `workdir` is not a finished run.
  """
  if split not in SPLITS:
    raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
  config, model, _, columns = train.load_trained(workdir)
  data = input_pipeline.prepare(config, data_dir)
  if tuple(data.series.columns) != tuple(columns):
    raise ValueError(f"the run in {workdir} was trained on columns {columns}, but its data now "
                     f"has {data.series.columns}; pass the --data_dir training used")
  baseline = train.create_model(config, len(columns), name=config.baseline)
  history, truth = input_pipeline.arrays(data, split)
  result = metrics.evaluate(model, baseline, history, truth, columns)
  return {**result, "series": data.series.name, "model_name": config.model,
          "baseline_name": config.baseline, "config": config}


def main(argv):
  """Prints the report of `--workdir`'s run on `--split`."""
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}; pass --workdir and --split")
  split = flags.FLAGS.split
  result = evaluate_run(flags.FLAGS.workdir, flags.FLAGS.data_dir, split)
  config = result["config"]
  print(f"{result['series']} {split}: {config.model} vs {config.baseline} "
        f"(lookback {config.lookback}, horizon {config.horizon})")
  print(metrics.format_report(config.model, config.baseline, result))


if __name__ == "__main__":
  # Flags are defined by the binary only: the library is imported beside other binaries' flags.
  flags.DEFINE_string("workdir", None, "A finished training run's workdir.", required=True)
  flags.DEFINE_enum("split", "test", list(SPLITS), "Which split to evaluate.")
  data_dir_lib.define_flag()
  app.run(main)
