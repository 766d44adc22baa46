"""Trains a vision model: `bazel run //vision:train -- --workdir=DIR [--config=...] [--config.x=y]`.

Flags only; the work is in train.py. Examples:

    bazel run //vision:train -- --workdir=/tmp/trellis/digits --config=vision/configs/digits.py
    bazel run //vision:train -- --workdir=/tmp/trellis/vision \
        --config.data.path=/tmp/trellis/world --config.epochs=5
"""

from absl import app, flags

from common import config as config_lib
from common.data import data_dir as data_dir_lib
from vision import train

_CONFIG = config_lib.DEFINE_config_file("config", default="vision/configs/default.py")
_WORKDIR = flags.DEFINE_string("workdir", None, "directory for checkpoints, logs and the run summary")
data_dir_lib.define_flag()
flags.mark_flags_as_required(["workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}; settings go in --config.<field>=value")
  cfg = config_lib.resolve(_CONFIG.value)
  train.train_and_evaluate(cfg, _WORKDIR.value, flags.FLAGS.data_dir)


if __name__ == "__main__":
  app.run(main)
