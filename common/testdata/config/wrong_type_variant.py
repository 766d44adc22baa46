"""A variant that assigns a string to a float field; loading it must fail."""

from common.testdata.config import default


def get_config():
  config = default.get_config()
  config.optimizer.learning_rate = "fast"
  return config
