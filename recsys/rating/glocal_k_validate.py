"""`bazel run //recsys/rating:glocal_k_validate`: chooses GLocal-K's epoch counts on a validation slice.

Holds out the ratings of u1.base whose "user:item" hash falls in the validation share (5%,
`protocols.with_hash_validation`, as the multitask model's early stopping does), fits
GLocal-K on the rest for up to --pretrain_epochs and --finetune_epochs, and prints the
validation RMSE after every epoch and the best epoch of each stage (the fine-tuning stage
starts from the best pre-training epoch). u1.test is never read. The chosen counts are the
defaults of `glocal_k.Config`, which `recsys/bench.py` refits on the whole of u1.base.

    bazel run //recsys/rating:glocal_k_validate -- [--pretrain_epochs=50] [--finetune_epochs=100]
"""

import json

import tensorflow as tf
from absl import app, flags

from common.data import data_dir as data_dir_lib
from recsys.data import movielens, protocols
from recsys.rating import glocal_k

_PRETRAIN = flags.DEFINE_integer("pretrain_epochs", 50, "most pre-training epochs to try")
_FINETUNE = flags.DEFINE_integer("finetune_epochs", 100, "most fine-tuning epochs to try")
_FRACTION = flags.DEFINE_float("validation_fraction", 0.05, "share of u1.base held out")
_OUT = flags.DEFINE_string("history_json", None, "also write the per-epoch history here")
data_dir_lib.define_flag()


def main(argv):
  del argv
  data_dir = data_dir_lib.resolve(flags.FLAGS.data_dir)
  base, _ = movielens.load_split("u1", data_dir)  # the test file is not used
  split = protocols.with_hash_validation(base, base.take(base.rating < 0), _FRACTION.value)
  users = sorted(movielens.load_users(data_dir), key=int)  # id order: the global kernel convolves neighbours
  items = movielens.load_catalog(data_dir).item_id
  config = glocal_k.Config(pretrain_epochs=_PRETRAIN.value, finetune_epochs=_FINETUNE.value)
  print(f"train {len(split.train)} ratings, validation {len(split.validation)}", flush=True)
  model = glocal_k.fit(split.train, users, items, config, validation=split.validation,
                       log=lambda line: print(line, flush=True))
  h = model.history
  print(f"best pre-training epoch {h['best_pretrain_epoch']} (val RMSE "
        f"{h['best_pretrain_val_rmse']:.4f}), best fine-tuning epoch {h['best_finetune_epoch']} "
        f"(val RMSE {h['best_finetune_val_rmse']:.4f}); {h['train_seconds']:.0f} s")
  if _OUT.value:
    with tf.io.gfile.GFile(_OUT.value, "w") as f:
      json.dump(h, f, indent=1)


if __name__ == "__main__":
  app.run(main)
