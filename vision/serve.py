"""Serves the vision exports: `bazel run //vision:serve -- --export_root=/tmp/trellis/exports`.

The serving-core server (gRPC TF Serving PredictionService/ModelService, REST
`/v1/models/<name>:predict`, health, reflection) with the vision models as defaults:
the demo's `vision_resnet20` and the digits model. Other `--models=a,b` and every server
flag work as in `bazel run //serving:server -- --help`.

A request sends encoded image bytes, e.g. over REST (bytes as {"b64": ...}):

    curl -d '{"signature_name": "classify", "instances": [{"b64": "'$(base64 -w0 cat.png)'"}]}' \
        localhost:8501/v1/models/vision_resnet20:predict
"""

import sys

from serving.core import server_main

DEFAULT_MODELS = ["vision_resnet20", "vision_digits_resnet20"]

if __name__ == "__main__":
  sys.exit(server_main.main(default_model_names=DEFAULT_MODELS))
