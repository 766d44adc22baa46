"""Serves this package's exports: the ETT forecaster and the shop-world demand forecaster.

    bazel run //sequences/timeseries:serve -- --export_root=/tmp/exports
    # REST: POST /v1/models/timeseries_forecaster:predict {"inputs": {"window": [[[...7 values]...]]}}

The server is serving's core (gRPC PredictionService + REST, TF Serving's API); the `forecast`
signature takes raw windows [batch, L, channels] and returns raw-unit forecasts.
"""

import sys

from serving.core import server_main

MODEL_NAMES = ["timeseries_forecaster", "shopworld_demand_forecaster"]

if __name__ == "__main__":
  sys.exit(server_main.main(default_model_names=MODEL_NAMES))
