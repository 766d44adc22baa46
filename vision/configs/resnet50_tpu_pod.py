"""ResNet-50 v1.5 on ImageNet-format TFRecords, on a Cloud TPU pod slice (e.g. v4-32, v5e-64).

    bazel run //vision:train -- --config=vision/configs/resnet50_tpu_pod.py \
        --workdir=gs://BUCKET/runs/resnet50 \
        --config.data.train_files='gs://BUCKET/imagenet/train-*' \
        --config.data.validation_files='gs://BUCKET/imagenet/validation-*' \
        --config.distribution.tpu.name=my-pod-slice --config.distribution.tpu.zone=us-central2-b

(launched on every host of the slice by `bazel run //infra/tpu:...`; see vision/README.md).
What to expect, from the published references for this recipe (not measured here: no TPU in
this environment): ~76.3% top-1 after 90 epochs (MLPerf ResNet-50 v1.5 target 75.9%), with
global batch 4096, 8-epoch linear warm-up to 0.1 x 4096/256 = 1.6, cosine decay, label
smoothing 0.1, weight decay 1e-4 (5e-5 effective L2), and bfloat16 compute.

TPU specifics: static shapes (drop_remainder, fixed 224x224), `steps_per_execution` = 250 so the
host is not the bottleneck, bfloat16 activations with float32 variables and a float32 head.
Evaluation is exact: ceil(50,000 / 4,096) = 13 static batches, the last padded with weight-0
rows, so all 50,000 validation images count once (not 12 x 4,096 = 49,152). Every host reads its
own TFRecord files (ImageNet's 128 validation and 1,024 training shards: at least one per host).
"""

from vision.configs import default

IMAGENET_TRAIN_IMAGES = 1_281_167
IMAGENET_VALIDATION_IMAGES = 50_000


def get_config():
  config = default.get_config()
  config.model = "ResNet50"
  config.resnet.image_size = 224
  config.resnet.weight_decay = 1e-4
  config.label_smoothing = 0.1

  config.data.source = "tfrecord"
  config.data.num_classes = 1000
  config.data.random_crop = "inception"
  config.data.flip = True
  config.data.eval_crop_fraction = 0.875
  config.data.cache = False
  config.data.normalization = "imagenet"

  config.batch_size = 4096
  config.epochs = 90
  config.steps_per_epoch = IMAGENET_TRAIN_IMAGES // config.get_ref("batch_size")  # 312 at 4096
  # Every validation image once: ceil(50,000 / batch) = 13 batches at 4096, the last padded and
  # masked (vision/train.py). A reference, so --config.batch_size=N recomputes it.
  config.eval_steps = -(-IMAGENET_VALIDATION_IMAGES // config.get_ref("batch_size"))
  config.learning_rate = 0.1                          # per 256 images: 1.6 at 4096
  config.optimizer.warmup_epochs = 8.0
  config.optimizer.schedule = "cosine"

  config.distribution.kind = "tpu"
  config.distribution.precision = "mixed_bfloat16"
  config.distribution.steps_per_execution = 250
  config.export.model_name = "vision_resnet50"
  return config
