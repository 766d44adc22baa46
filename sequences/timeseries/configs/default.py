"""Default forecaster: channel-independent Linear + RevIN on ETTh1, the field's standard protocol.

    bazel run //sequences/timeseries:train -- --workdir=/tmp/ts
    bazel run //sequences/timeseries:train -- --workdir=/tmp/ts --config.model=PatchTST \
        --config.data.name=ETTh2 --config.horizon=336

Protocol (Informer/DLinear/PatchTST): ETTh1, 12/4/4-month split by time, z-scores fitted on the
training rows, all 7 channels, lookback 336, horizon 96; MSE/MAE on the standardised test set.
Expect test MSE ≈ 0.37 (published: RLinear 0.366, PatchTST/64 0.370, DLinear 0.375) in well under
a minute on 2 CPU cores; see sequences/timeseries/README.md for the measured table.
"""

import ml_collections

from common import config as config_lib
from common.distribute import config as distribute_config


def get_config():
  config = ml_collections.ConfigDict()
  config.model = "Linear"  # a class name in sequences/timeseries/models.py
  config.baseline = "SeasonalNaive"  # reported beside the model (LastValue or SeasonalNaive)
  config.lookback = 336  # L: rows of history the model reads
  config.horizon = 96  # H: rows forecast at once

  # model=Ensemble: the averaged members, named, each a model and the fields it changes, e.g.
  # {"a": {"model": "Linear", "seed": 1}, "b": {"model": "DLinear"}} (ensemble.py,
  # configs/ensemble.py). Members train in <member_root>/<model>-L<lookback>-seed<seed>-<digest>,
  # "" = <workdir>/members; ensembles given one root share the members they have in common.
  config.ensemble = ml_collections.ConfigDict()
  config.ensemble.members = ml_collections.ConfigDict()
  config.ensemble.member_root = ""

  config.data = ml_collections.ConfigDict()
  config.data.source = "ett"  # ett | csv | demand
  config.data.name = "ETTh1"  # ETTh1 | ETTh2 (hourly) | ETTm1 | ETTm2 (15-minute) (source=ett)
  config.data.path = ""  # source=csv: the CSV file; source=demand: the shop-world directory
  # ett (12/4/4 months of 30 days, in rows of the data's frequency) | fraction (70/10/20 % by time)
  config.data.split = "ett"
  # "" = inferred from the timestamps; hourly | daily | <n>min (e.g. 15min): the data must have it.
  config.data.frequency = ""
  config.data.stride = 1  # rows between consecutive training windows

  # Model hyperparameters (sequences.timeseries.models.ModelConfig, minus the shapes).
  config.arch = ml_collections.ConfigDict()
  # SeasonalNaive's period in rows; 0 = one season of the data's frequency: a day on sub-daily
  # data (24 hourly, 96 at 15 minutes), a week (7) on daily data.
  config.arch.season = 0
  config.arch.revin = True
  config.arch.hidden = 64
  config.arch.num_layers = 2
  config.arch.heads = 4
  config.arch.dropout = 0.1
  config.arch.kernel_size = 25
  config.arch.patch_len = 16
  config.arch.patch_stride = 8

  config.batch_size = 32
  config.epochs = 10
  config.learning_rate = 5e-3  # Adam
  config.lr_decay = 0.5  # learning rate × lr_decay after every epoch (DLinear's schedule)
  config.early_stopping_patience = 3  # epochs without validation improvement; 0 = off
  config.seed = 0
  config.verbose = 2  # Keras progress (0 silent, 1 bars, 2 a line per epoch); > 0 prints the report

  # default | mirrored | multi_worker | tpu | horovod, e.g. --config.distribution.kind=mirrored
  config.distribution = distribute_config.get_config()

  config.export = ml_collections.ConfigDict()
  config.export.model_name = "timeseries_forecaster"
  return config_lib.locked(config)
