"""Two-tower retrieval on MovieLens on a Cloud TPU VM: static shapes, 100 steps a call, bfloat16.

    .venv-tpu/bin/python -m recsys.main --config=recsys/configs/tpu.py --workdir=gs://BUCKET/runs/ml

The MovieLens config (`movielens.py`: no image or text tower) under the TPU rules: the global batch
is split over the 8 cores and the last partial batch is dropped (common/distribute/strategy.py).
Not measured here (no TPU on this machine). CI runs this config for a few XLA-compiled steps on CPU
under the TPU lock (tools/ci/tpu_stack_check.sh, `--config.distribution.tpu.cpu_rehearsal=true`).
"""

from recsys.configs import movielens


def get_config():
  config = movielens.get_config()
  config.distribution.kind = "tpu"
  # The towers compute in bfloat16; the losses stay float32 (recsys/models.py). The ids are
  # looked up on the host (Recommender.encode_ids), as a compiled TPU step takes no strings.
  config.distribution.precision = "mixed_bfloat16"
  config.distribution.steps_per_execution = 100
  config.batch_size = 4096  # 8 cores x 512, the MovieLens config's batch per core
  return config
