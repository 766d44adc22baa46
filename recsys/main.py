"""Trains the recommender: `bazel run //recsys:train -- --workdir=DIR [--config=...] [--config.x=y]`.

Flags only; the work is in train.py. Examples:

    bazel run //recsys:train -- --workdir=/tmp/trellis/recsys --config.data.path=/tmp/trellis/world
    bazel run //recsys:train -- --workdir=/tmp/trellis/ml100k --config=recsys/configs/movielens.py

Publish the trained model with `bazel run //recsys:export -- --workdir=DIR --export_root=ROOT`.
"""

from absl import app, flags

from common import config as config_lib
from common.data import data_dir as data_dir_lib
from recsys import train

_CONFIG = config_lib.DEFINE_config_file("config", default="recsys/configs/default.py")
_WORKDIR = flags.DEFINE_string("workdir", None, "directory for checkpoints, logs, weights and result.json")
data_dir_lib.define_flag()
flags.mark_flags_as_required(["workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}; settings go in --config.<field>=value")
  train.train_and_evaluate(config_lib.resolve(_CONFIG.value), _WORKDIR.value, flags.FLAGS.data_dir)


if __name__ == "__main__":
  app.run(main)
