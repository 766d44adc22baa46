"""ResNet-20 on CIFAR-10 (python batches in <data_dir>/cifar10/, md5-checked): He et al.'s recipe.

    bazel run //vision:train -- --config=vision/configs/cifar10.py --workdir=/tmp/trellis/cifar10

The paper's schedule is 64k steps of batch 128 (~164 epochs) to 91.25% test accuracy; this
config's cosine schedule over 160 epochs is the common equivalent. Not run here: CIFAR-10 is not
in ../shared/data and a 2-core CPU needs roughly a day for it (see vision/README.md).
"""

from vision.configs import default


def get_config():
  config = default.get_config()
  config.data.source = "cifar10"
  config.data.split_fractions = (0.9, 0.1, 0.0)   # validation = 10% of the official train split
  config.epochs = 160
  config.export.model_name = "vision_cifar10_resnet20"
  return config
