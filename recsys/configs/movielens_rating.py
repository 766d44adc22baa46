"""Rating prediction on MovieLens 100K, canonical split u1 (the bench's RMSE row).

    bazel run //recsys:train -- --config=recsys/configs/movielens_rating.py --workdir=/tmp/trellis/ml100k_u1
"""

from recsys.configs import movielens


def get_config():
  config = movielens.get_config()
  config.data.protocol = "u1"
  config.model.rating_weight = 1.0
  config.model.retrieval_weight = 0.1
  config.model.user_hash_bins = 5000
  # u1 has no validation part: 5% of u1.base (by a hash of user:item) is held out to stop on,
  # because the model overfits (u1 test RMSE 0.961 after 5 epochs, 1.016 after 20).
  config.epochs = 20
  config.early_stopping_patience = 2
  config.early_stopping_monitor = "val_rmse"
  return config
