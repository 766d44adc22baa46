"""Retrieval on MovieLens 100K, leave-last-out, full catalogue (the bench's retrieval row).

    bazel run //recsys:train -- --config=recsys/configs/movielens.py --workdir=/tmp/trellis/ml100k

No images; titles and genres are the item text. The figures this config reaches are
in recsys/README.md (`bazel run //recsys:bench` measures them).
"""

from recsys.configs import default


def get_config():
  config = default.get_config()
  config.data.source = "movielens"
  config.data.protocol = "leave_last_out"
  config.image_tower = False
  config.text_tower = False
  config.model.max_history = 50
  config.model.rating_weight = 0.0
  config.model.id_dropout = 0.0
  config.model.category_weight = 0.0  # no content towers here
  config.epochs = 30
  config.batch_size = 512
  return config
