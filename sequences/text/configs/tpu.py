"""The default text model on a Cloud TPU (VM or pod slice): bfloat16, static shapes, 100 steps a call.

    bazel run //infra/tpu:launch -- ... -- //sequences/text:train \
        --config=sequences/text/configs/tpu.py --workdir=gs://<bucket>/text_cnn

Not measured here (no TPU on this machine). The Tokenizer runs in the input pipeline (host CPU);
the model sees fixed-length int ids, so XLA compiles one program.
"""

from sequences.text.configs import default


def get_config():
  config = default.get_config()
  config.distribution.kind = "tpu"
  config.distribution.precision = "mixed_bfloat16"
  config.distribution.steps_per_execution = 100
  # TPU cores want large batches; 8 cores x 128.
  config.batch_size = 1024
  config.learning_rate = 4e-3
  return config
