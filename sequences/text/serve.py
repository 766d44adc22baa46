"""Serves this package's exports with the serving core (gRPC + REST, TF Serving's API).

    bazel run //sequences/text:serve -- --export_root=/tmp/trellis/exports
    curl -d '{"signature_name": "classify", "instances": [{"text": "Stocks rally on rate cut"}]}' \
        localhost:8501/v1/models/text_classifier:predict

The server imports `tensorflow_text` for these models because their metadata records it.
"""

import sys

from serving.core import server_main

# The names train.py exports under by default (configs/default.py and configs/shopworld.py).
DEFAULT_MODEL_NAMES = ["text_classifier", "text_shop_category"]

if __name__ == "__main__":
  sys.exit(server_main.main(default_model_names=DEFAULT_MODEL_NAMES))
