"""Exports a trained recommender: `bazel run //recsys:export -- --workdir=DIR --export_root=ROOT`.

Rebuilds the run's data and model from the config saved in `--workdir`, restores the
trained weights, embeds the catalogue and publishes one SavedModel (see export.py).
"""

import os

import tensorflow as tf
from absl import app, flags

from common import config as config_lib
from recsys import export, train

export_run = export.export_run  # the library function lives in export.py


def main(argv):
  del argv
  if not flags.FLAGS.workdir or not flags.FLAGS.export_root:
    raise app.UsageError("--workdir and --export_root are required")
  workdir = flags.FLAGS.workdir  # may be gs://: tf.io.gfile, never pathlib
  weights = os.path.join(workdir, train.FINAL_WEIGHTS)
  if not tf.io.gfile.exists(weights + ".index"):
    raise app.UsageError(f"{weights} does not exist: train first with "
                         f"`bazel run //recsys:train -- --workdir={workdir}`")
  cfg = config_lib.read_saved(workdir)
  if flags.FLAGS.world_dir:  # the shop world moved since training; restore checks the data
    cfg.data.path = flags.FLAGS.world_dir
  run = train.restore(cfg, workdir, flags.FLAGS.data_dir)
  print(f"exported {export.export_run(cfg, run, flags.FLAGS.export_root, flags.FLAGS.model_name)}")


if __name__ == "__main__":
  # Flags exist only in this program, so importing the module never clashes with another --workdir.
  flags.DEFINE_string("workdir", None, "a finished `//recsys:train` workdir")
  flags.DEFINE_string("export_root", None, "TF Serving model root to publish into")
  flags.DEFINE_string("model_name", "recsys", "model name under --export_root")
  flags.DEFINE_string("world_dir", None, "shop world folder (for dataset=shopworld)")
  flags.DEFINE_string("data_dir", None, "real datasets folder (for dataset=movielens)")
  app.run(main)
