"""Trains a text classifier: `bazel run //sequences/text:train -- --workdir=DIR [--config.x=y]`.

Flags only; the work is in train.py. Examples:

    bazel run //sequences/text:train -- --workdir=/tmp/trellis/text_cnn
    bazel run //sequences/text:export -- --workdir=/tmp/trellis/text_cnn \
        --export_root=/tmp/trellis/exports
    bazel run //sequences/text:train -- --workdir=/tmp/trellis/text_shop \
        --config=sequences/text/configs/shopworld.py --config.data.path=/tmp/trellis/world
    bazel run //sequences/text:train -- --workdir=/tmp/mr --config.data.source=polarity \
        --config.data.path=rt-polarity.pos,rt-polarity.neg --config.model=BiGRU
    bazel run //sequences/text:train -- --workdir=/tmp/mr --config.data.source=class_files \
        --config.data.path=/data/rt-polaritydata --config.data.encoding=cp1252 --config.model=NBSVM
"""

from absl import app, flags

from common import config as config_lib
from common.data import data_dir as data_dir_lib
from sequences.text import train

_CONFIG = config_lib.DEFINE_config_file("config", default="sequences/text/configs/default.py")
_WORKDIR = flags.DEFINE_string("workdir", None, "directory for vocabulary, checkpoints, logs, "
                               "result.json, the final model and confusion.png")
data_dir_lib.define_flag()
flags.mark_flags_as_required(["workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}; settings go in --config.<field>=value")
  cfg = config_lib.resolve(_CONFIG.value)
  config_lib.save(cfg, _WORKDIR.value)
  train.train_and_evaluate(cfg, _WORKDIR.value, flags.FLAGS.data_dir)


if __name__ == "__main__":
  app.run(main)
