"""ResNet-20 on scikit-learn's real handwritten digits (1,797 images of 8x8, upsampled to 32x32).

    bazel run //vision:train -- --config=vision/configs/digits.py --workdir=/tmp/trellis/digits

The split is a FarmHash of each sample's index (80/10/10: 1,437/180/180 images, the same on
every machine). Measured result and time: vision/README.md ("Results"). No flips (a mirrored
digit is another digit); pad-and-crop by 4 pixels of the 32x32 upsampled image.
"""

from vision.configs import default


def get_config():
  config = default.get_config()
  config.data.source = "digits"
  config.data.flip = False
  config.batch_size = 64
  config.num_epochs = 30
  config.optimizer.learning_rate = 0.4   # x 64/256 = 0.1 effective
  config.export.model_name = "vision_digits_resnet20"
  return config
