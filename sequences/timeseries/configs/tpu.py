"""The default forecaster on a Cloud TPU VM: bfloat16, static shapes, 100 steps a call.

    .venv-tpu/bin/python -m sequences.timeseries.main --config=sequences/timeseries/configs/tpu.py \
        --workdir=gs://BUCKET/runs/ts --config.model=PatchTST

Not measured here (no TPU on this machine). The windows have a fixed look-back and horizon, so
every batch has the same static shape once partial batches are dropped (the TPU rules in
common/distribute/strategy.py). CI runs this config for a few XLA-compiled steps on CPU under the
TPU lock (tools/ci/tpu_stack_check.sh, `--config.distribution.tpu.cpu_rehearsal=true`).
"""

from sequences.timeseries.configs import default


def get_config():
  config = default.get_config()
  config.distribution.kind = "tpu"
  config.distribution.precision = "mixed_bfloat16"
  config.distribution.steps_per_execution = 100
  config.batch_size = 256  # 8 cores x 32, the default's per-device batch
  return config
