"""ResNet-50 v1.5 at 64x64 on a single TPU VM (v4-8, v5e-8): the pod recipe at a small image size.

    .venv-tpu/bin/python -m vision.main --config=vision/configs/resnet50_tpu_small.py \
        --workdir=gs://BUCKET/runs/resnet50_64 \
        --config.data.train_files='gs://BUCKET/imagenet64/train-*' \
        --config.data.validation_files='gs://BUCKET/imagenet64/validation-*'

The same network, TPU rules and schedule as `resnet50_tpu_pod.py` (bfloat16, static shapes,
steps_per_execution), on downsampled ImageNet-format TFRecords at 64x64 and a global batch of 1024
for the 8 cores of one host: a quick check of a recipe before it takes a pod slice. Not measured
here (no TPU in this environment). CI runs this config for a few XLA-compiled steps on CPU under
the TPU lock (tools/ci/tpu_stack_check.sh: `--config.distribution.tpu.cpu_rehearsal=true` on the
shop world's item images).
"""

from vision.configs import resnet50_tpu_pod


def get_config():
  config = resnet50_tpu_pod.get_config()
  config.resnet.image_size = 64
  # steps_per_epoch and eval_steps follow (references in the pod config): 1251 and 49, every
  # validation image once.
  config.batch_size = 1024
  config.distribution.steps_per_execution = 100
  config.distribution.tpu.name = "local"  # one TPU VM
  config.export.model_name = "vision_resnet50_64"
  return config
