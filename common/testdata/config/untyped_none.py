"""A config with a bare None field (no type); the loader must refuse it."""

import ml_collections

from common import config as config_lib


def get_config():
  config = ml_collections.ConfigDict()
  config.num_steps = None
  return config_lib.locked(config)
