"""ResNet-20 on the shop world's item images (10 categories, 32x32): the demo model.

    bazel run //common/shopworld:generate -- --out_dir=/tmp/trellis/world --size=small
    bazel run //vision:train -- --workdir=/tmp/trellis/vision \
        --config.data.path=/tmp/trellis/world

Measured (2026-11-22, shop world seed 0, size "small": 1,641/205/154 item images by a FarmHash
split of item ids; `vision.demo.run` = this config with epochs=8): test accuracy 0.812
against 0.169 for the majority class ("kitchen"), validation 0.878; 850 s of training on this
2-core CPU while it was shared with other jobs (load average ~20).
"""

import ml_collections

from common import config as config_lib
from common.distribute import config as distribute_config


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  # A name in vision/models.py: ResNet20/32/44/56/110 (CIFAR), ResNet18/34/50/101 (ImageNet).
  config.model = "ResNet20"
  config.resnet = ml_collections.ConfigDict()
  config.resnet.image_size = 32
  # SGD weight decay on conv/dense kernels (He et al.: 1e-4 for CIFAR and ImageNet).
  config.resnet.weight_decay = 1e-4
  config.resnet.zero_init_residual = True
  config.label_smoothing = 0.0

  config.data = ml_collections.ConfigDict()
  # shopworld | digits | mnist | fashion_mnist | idx | cifar10 | image_folder | tfrecord
  config.data.source = "shopworld"
  # shopworld: the directory a world was written to; image_folder: the root of <class>/*.png
  config.data.path = ""
  config.data.images = ""              # idx: ONE images file (e.g. train-images-idx3-ubyte.gz)
  config.data.labels = ""              # idx: its labels file (e.g. train-labels-idx1-ubyte.gz)
  config.data.train_files = ""         # tfrecord: glob patterns per split
  config.data.validation_files = ""
  config.data.test_files = ""
  config.data.class_names = ml_collections.config_dict.placeholder(tuple)  # tfrecord, idx: optional
  config.data.num_classes = 0          # tfrecord: when class_names are not given
  # Hash split of records by key (train, validation, test); for sources with an official test
  # split, the second number is the validation share of the official train split.
  config.data.split_fractions = (0.8, 0.1, 0.1)
  config.data.random_crop = "pad"      # none | pad (CIFAR recipe) | inception (ImageNet recipe)
  config.data.pad = 4
  config.data.flip = True
  config.data.eval_crop_fraction = 1.0  # 0.875: ImageNet's resize-then-centre-crop evaluation
  config.data.cache = True
  config.data.shuffle_buffer = 10_000
  config.data.max_pixels = 50_000_000
  # Per-channel normalisation inside the model: "dataset" measures mean/std on (up to 2048)
  # training images; "imagenet" uses the ImageNet statistics.
  config.data.normalization = "dataset"

  # SGD with Nesterov momentum; the peak learning rate is `learning_rate * batch_size / 256`
  # (the linear scaling rule of Goyal et al. 2017), warmed up linearly, then cosine-decayed.
  config.learning_rate = 0.1
  config.optimizer = ml_collections.ConfigDict()
  config.optimizer.momentum = 0.9
  config.optimizer.warmup_epochs = 1.0
  config.optimizer.schedule = "cosine"  # cosine | step (x0.1 at 30/60/80% of training)

  config.batch_size = 128               # global, over all replicas
  config.epochs = 10
  config.steps_per_epoch = 0            # 0 = one pass over train (required for tfrecord)
  config.eval_steps = 0                 # 0 = the whole split
  config.seed = 0
  config.distribution = distribute_config.get_config()
  # XLA-compiled train steps: ResNet-20 on 32x32 trained 1.8-2x faster per step on this CPU
  # (vision/README.md, bench); the first epoch pays ~10 s of compilation.
  config.distribution.jit_compile = True

  config.export = ml_collections.ConfigDict()
  config.export.model_name = "vision_resnet20"
  return config_lib.locked(config)
