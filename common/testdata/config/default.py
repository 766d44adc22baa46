"""A small default config used by common/config_test.py (shaped like a domain's)."""

import ml_collections

from common import config as config_lib


def get_config(variant: str = ""):
  config = ml_collections.ConfigDict()
  config.model = ml_collections.ConfigDict()
  config.model.name = "resnet20"
  config.model.widths = (16, 32, 64)
  config.model.dropout = ml_collections.config_dict.placeholder(float)
  config.optimizer = ml_collections.ConfigDict()
  config.optimizer.learning_rate = 0.1
  config.optimizer.momentum = 0.9
  config.batch_size = 128
  config.use_bfloat16 = False
  if variant == "tiny":
    config.batch_size = 8
  return config_lib.locked(config)
