"""PatchTST (channel-independent patch Transformer) on ETTh1, lookback 336, horizon 96.

    bazel run //sequences/timeseries:train -- --config=sequences/timeseries/configs/patchtst.py \
        --workdir=/tmp/ts_patchtst

Smaller than the paper's PatchTST/42 (d_model 128, 3 layers, 16 heads) to fit a shared 2-core
CPU: d_model 64, 2 layers. The measured figure and training time are in the README's table.
"""

from sequences.timeseries.configs import default


def get_config():
  config = default.get_config()
  config.model = "PatchTST"
  config.arch.hidden = 64
  config.arch.num_layers = 2
  config.arch.heads = 4
  config.arch.dropout = 0.2
  config.batch_size = 64
  config.epochs = 10
  config.learning_rate = 1e-3
  config.early_stopping_patience = 3
  return config
