"""A variant with a typo in a field name; loading it must fail."""

from common.testdata.config import default


def get_config():
  config = default.get_config()
  config.optimizer.learnng_rate = 0.4
  return config
