"""Serves the recommender export: `bazel run //recsys:serve -- --export_root=/tmp/trellis/exports`.

The serving-core server (TF Serving PredictionService/ModelService over gRPC, REST
`/v1/models/recsys:predict`, health, reflection, metrics) with the `recsys` model as
default. For example, over REST (histories oldest first, left-padded with "" to the
exported length; see the model's metadata for it):

    curl -d '{"signature_name": "recommend", "inputs": {"user_id": ["u1"],
              "history_ids": [["", "item_00007", "item_00042"]], "history_times": [[0, 1700000000, 1700003600]],
              "timestamp": [1700007200], "k": 10}}' localhost:8501/v1/models/recsys:predict

The product-facing Recommendation API (user histories, events, filters) is
`//serving/recommendation`; it serves this same export.
"""

import sys

from serving.core import server_main

DEFAULT_MODELS = ["recsys"]

if __name__ == "__main__":
  sys.exit(server_main.main(default_model_names=DEFAULT_MODELS))
