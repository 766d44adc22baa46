"""A variant: imports the default and changes a few fields."""

from common.testdata.config import default


def get_config():
  config = default.get_config()
  config.optimizer.learning_rate = 0.4
  config.batch_size = 1024
  return config
