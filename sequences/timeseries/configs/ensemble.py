"""The mean of three forecasters on ETTh1, lookback 512, horizon 96: the README's best H=96 row.

    bazel run //sequences/timeseries:train -- --config=sequences/timeseries/configs/ensemble.py \
        --workdir=/tmp/ts_ensemble

Linear and DLinear at look-back 512 and a one-layer GRU at 336, each trained exactly as the bench
trains its row (bench.py SETTINGS: Linear-L512, DLinear-L512, GRU); the ensemble was chosen on
ETTh1 H=96 *validation* MSE among 12 ensembles of bench rows (README, "Choosing the H=96 variant")
and measured at test MSE 0.362 (PatchTST/64 published: 0.370). Each member is trained once in
<workdir>/members (or --config.ensemble.member_root) and reused by later ensembles with the same
member config.
"""

import ml_collections

from sequences.timeseries.configs import default


def get_config():
  config = default.get_config()
  config.model = "Ensemble"
  config.lookback = 512  # the longest member's look-back
  config.ensemble.members = ml_collections.ConfigDict({
      "dlinear_l512": {"model": "DLinear", "lookback": 512},
      "gru": {"model": "GRU", "lookback": 336, "learning_rate": 2e-3, "lr_decay": 0.7,
              "batch_size": 64, "epochs": 4, "early_stopping_patience": 2,
              "arch": {"num_layers": 1}},
      "linear_l512": {"model": "Linear", "lookback": 512},
  })
  return config
