"""The shop world's daily demand per category: 4 weeks of history, 2 weeks ahead.

    bazel run //sequences/timeseries:train -- \
        --config=sequences/timeseries/configs/demand.py --config.data.path=/tmp/world

Daily data has a weekly season (7 rows), so the baseline is the same weekday last week. The split
is 70/10/20 % by time. A run takes a few seconds; the model beats seasonal-naive (demo.py).
"""

from sequences.timeseries.configs import default


def get_config():
  config = default.get_config()
  config.model = "DLinear"
  config.lookback = 28
  config.horizon = 14
  config.data.source = "demand"
  config.data.name = "shopworld_demand"
  config.data.split = "fraction"
  config.arch.season = 7
  config.arch.kernel_size = 7
  config.arch.patch_len = 7
  config.arch.patch_stride = 7
  config.batch_size = 32
  config.epochs = 12
  config.learning_rate = 5e-3
  config.lr_decay = 0.8  # a few hundred windows: decay slower than ETT's halving
  config.early_stopping_patience = 4
  config.export.model_name = "shopworld_demand_forecaster"
  return config
