"""Trains a forecaster and evaluates it beside its baseline: flags only, the work is in train.py.

    bazel run //sequences/timeseries:train -- --workdir=/tmp/ts
    bazel run //sequences/timeseries:train -- --workdir=/tmp/ts --config.model=DLinear \
        --config.data.name=ETTh2 --config.horizon=192
    bazel run //sequences/timeseries:train -- --config=sequences/timeseries/configs/demand.py \
        --config.data.path=/tmp/world --workdir=/tmp/demand
    bazel run //sequences/timeseries:export -- --workdir=/tmp/ts --export_root=/tmp/exports
"""

from absl import app, flags

from common import config as config_lib
from common.data import data_dir as data_dir_lib
from sequences.timeseries import train

_CONFIG = config_lib.DEFINE_config_file("config", default="sequences/timeseries/configs/default.py")
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and metrics.",
                               required=True)
data_dir_lib.define_flag()


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}; settings go in --config.<field>=value")
  config = config_lib.resolve(_CONFIG.value)
  train.train_and_evaluate(config, _WORKDIR.value, flags.FLAGS.data_dir)


if __name__ == "__main__":
  app.run(main)
