"""A config file that forgets to lock its dict; the loader must refuse it."""

import ml_collections


def get_config():
  config = ml_collections.ConfigDict()
  config.batch_size = 32
  return config
