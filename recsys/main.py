"""Trains the recommender: `bazel run //recsys:train -- --workdir=DIR [--config=...] [--config.x=y]`.

Flags only; the work is in train.py. Examples:

    bazel run //recsys:train -- --workdir=/tmp/trellis/recsys --world_dir=/tmp/trellis/world \
        --export_root=/tmp/trellis/exports
    bazel run //recsys:train -- --workdir=/tmp/trellis/ml100k --config=recsys/configs/movielens.py
"""

from absl import app, flags

from common import config as config_lib
from common.data import data_dir as data_dir_lib
from recsys import export, train

_CONFIG = config_lib.DEFINE_config_file("config", default="recsys/configs/default.py")
_WORKDIR = flags.DEFINE_string("workdir", None, "directory for checkpoints, logs, weights and results")
_WORLD_DIR = flags.DEFINE_string("world_dir", None, "shop world folder (for dataset=shopworld)")
_EXPORT_ROOT = flags.DEFINE_string("export_root", None, "if set, also publish the trained model here")
_MODEL_NAME = flags.DEFINE_string("model_name", "recsys", "model name under --export_root")
data_dir_lib.define_flag()
flags.mark_flags_as_required(["workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}; settings go in --config.<field>=value")
  cfg = config_lib.resolve(_CONFIG.value)
  run = train.train_and_evaluate(cfg, _WORKDIR.value, flags.FLAGS.data_dir, _WORLD_DIR.value)
  if _EXPORT_ROOT.value:
    path = export.export_run(cfg, run, _EXPORT_ROOT.value, _MODEL_NAME.value)
    print(f"exported {path}")


if __name__ == "__main__":
  app.run(main)
