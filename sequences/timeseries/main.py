"""Trains a forecaster, evaluates it beside its baseline and (optionally) exports it.

    bazel run //sequences/timeseries:train -- --workdir=/tmp/ts
    bazel run //sequences/timeseries:train -- --workdir=/tmp/ts --config.model=DLinear \
        --config.data.name=ETTh2 --config.horizon=192 --export_root=/tmp/exports
    bazel run //sequences/timeseries:train -- --config=sequences/timeseries/configs/demand.py \
        --config.data.path=/tmp/world --workdir=/tmp/demand
"""

from absl import app, flags

from common import config as config_lib
from common.data import data_dir as data_dir_lib

_CONFIG = config_lib.DEFINE_config_file("config", default="sequences/timeseries/configs/default.py")
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and metrics.",
                               required=True)
_EXPORT_ROOT = flags.DEFINE_string("export_root", None,
                                   "If set, publish the trained model here (TF Serving layout).")
data_dir_lib.define_flag()


def main(argv):
  del argv
  config = config_lib.resolve(_CONFIG.value)
  # Imported after flag parsing: TensorFlow starts its runtime on import of the model code and
  # the distribution strategy must be configured first.
  from sequences.timeseries import evaluate, export, train

  result = train.train_and_evaluate(config, _WORKDIR.value, flags.FLAGS.data_dir)
  print(f"\n{result.data.series.name}: {config.model} vs {config.baseline}, lookback "
        f"{config.lookback}, horizon {config.horizon}, trained {result.epochs_run} epochs in "
        f"{result.train_seconds:.1f} s; test set:")
  print(evaluate.format_report(config.model, config.baseline, result.test))
  if _EXPORT_ROOT.value:
    print("exported to", export.export_result(result, config, _EXPORT_ROOT.value))


if __name__ == "__main__":
  app.run(main)
