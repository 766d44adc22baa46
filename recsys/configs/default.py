"""Recommender on the synthetic shop world: the `make demo` model.

    bazel run //recsys:train -- --config=recsys/configs/default.py --workdir=/tmp/trellis/recsys \
        --config.data.path=/tmp/trellis/world

Two towers with the text encoder on titles/descriptions, the image encoder on the item
pictures and a GRU over the last 20 items; retrieval and rating heads trained together.
On the small world's leave-last-out test (`make demo`, image tower = the vision demo's ResNet)
it reaches Recall@10 0.177, 1.39x item co-occurrence (recsys/README.md); 8 epochs took
~31 min on the shared 2-core VM at load ~20. The 8 epochs were chosen on validation Recall@10.
"""

import ml_collections

from common import config as config_lib
from common.distribute import config as distribute_config


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = 0

  config.data = ml_collections.ConfigDict()
  config.data.source = "shopworld"  # shopworld | movielens (recsys/data/<source>.py)
  # The shop world folder (for source=shopworld; local or gs://). MovieLens is read from --data_dir.
  config.data.path = ""
  config.data.protocol = "leave_last_out"  # leave_last_out | temporal | u1..u5, ua, ub (MovieLens)

  config.model = ml_collections.ConfigDict()
  config.model.embedding_dim = 64
  config.model.hash_bins = 50_000
  config.model.user_hash_bins = 0  # the history carries the user; set >0 to add a hashed user id
  config.model.max_history = 20
  config.model.encoder = "gru"
  config.model.id_dropout = 0.2
  config.model.temperature = 0.1
  config.model.logq_correction = True
  config.model.remove_accidental_hits = True
  config.model.cross_layers = 2
  config.model.rating_weight = 0.5
  config.model.retrieval_weight = 1.0
  config.model.category_weight = 0.5  # content-only embedding predicts the category (cold start)

  config.text_tower = True
  config.image_tower = True
  # A vision export whose ResNet becomes the (frozen) image tower; "" = train a fresh ResNet-20.
  config.vision_export = ""
  # Without a vision export: train the fresh ResNet-20 with the recommender (True) or keep it fixed.
  config.train_image_encoder = True

  config.batch_size = 256
  config.epochs = 8
  config.learning_rate = 3e-3
  config.early_stopping_patience = 3  # 0 = off: train every epoch (common/training/fit.py)
  # What early stopping watches on the validation split (the best epoch's weights are kept).
  config.early_stopping_monitor = "val_loss"
  config.eval_k = 10
  config.verbose = 2  # Keras: 1 = progress bar, 2 = one line per epoch

  # The served rating model (recsys/rating/served.py): a blend of GLocal-K seeds, biased MF and
  # user + item biases, materialised for every (training user, item) and served by the export's
  # `rank`. 0 = off (rank is the DCN head). movielens_rating.py turns it on.
  config.rating_blend = ml_collections.ConfigDict()
  config.rating_blend.glocal_k_seeds = 0
  # GLocal-K's hidden units and epoch counts: glocal_k.Config's (the paper's; epochs chosen on validation).
  config.rating_blend.glocal_k_hidden = 500
  config.rating_blend.glocal_k_pretrain_epochs = 48
  config.rating_blend.glocal_k_finetune_epochs = 19
  config.rating_blend.validation_fraction = 0.05  # of the training ratings: the blend's weights

  config.distribution = distribute_config.get_config()
  return config_lib.locked(config)
