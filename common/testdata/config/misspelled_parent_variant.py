"""A variant that reads a misspelled sub-config; loading it must fail."""

from common.testdata.config import default


def get_config():
  config = default.get_config()
  config.optimzer.learning_rate = 0.4
  return config
