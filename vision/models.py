"""ResNet v1.5 image classifiers, picked by name: `getattr(models, config.model)`.

Two families, as in the papers:

* CIFAR-style (He et al. 2016, sec. 4.2): a 3x3 stem and three stages of basic
  blocks with 16, 32 and 64 filters; depth = 6n + 2 (ResNet-20/32/44/56/110).
  Made for ~32x32 inputs.
* ImageNet-style: a 7x7/2 stem with 3x3/2 max-pooling, then four stages with 64,
  128, 256 and 512 base filters; basic blocks for ResNet-18/34, bottleneck blocks
  (1x1 → 3x3 → 1x1, expansion 4) for ResNet-50/101. "v1.5" means the downsampling
  stride sits in the bottleneck's 3x3 convolution rather than its first 1x1, as in
  torchvision and the TF/NVIDIA reference models (+0.5% top-1 for ~5% more FLOPs).

Every model takes float images with values in [0, 255] (what
`vision.preprocessing` decodes) and normalises them per channel inside the graph,
so an exported model needs no client-side preprocessing. The global-average-pooled
features are the layer named `embedding`; the output is float32 logits from the
layer named `logits`. Under a `mixed_bfloat16` policy every conv runs in bfloat16,
while the normalisation, the classifier and therefore the softmax stay float32.
"""

import dataclasses
import functools
from collections.abc import Sequence

import tensorflow as tf

# ImageNet per-channel statistics on the [0, 255] scale (the torchvision/TF values):
# the default when a dataset does not supply its own.
IMAGENET_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
IMAGENET_STD = (0.229 * 255, 0.224 * 255, 0.225 * 255)

# The BN settings of the reference implementations (momentum 0.9, eps 1e-5).
_BN_MOMENTUM = 0.9
_BN_EPSILON = 1e-5


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """What a ResNet needs to know; the model never sees the config system.

  Attributes:
    num_classes: size of the classifier.
    image_size: height = width of the input images.
    weight_decay: SGD-style weight decay on conv and dense kernels, added as an L2
      penalty `weight_decay / 2 * ||w||²` (its gradient is `weight_decay * w`).
    mean: per-channel mean of the [0, 255] pixels, subtracted inside the model.
    std: per-channel standard deviation, divided out inside the model.
    zero_init_residual: start each block's last BN scale at 0 so every residual
      block begins as the identity (Goyal et al. 2017), which makes large-batch
      training stable.
  """

  num_classes: int
  image_size: int = 32
  weight_decay: float = 0.0
  mean: tuple[float, ...] = IMAGENET_MEAN
  std: tuple[float, ...] = IMAGENET_STD
  zero_init_residual: bool = True


def _regularizer(weight_decay: float):
  return tf.keras.regularizers.L2(weight_decay / 2) if weight_decay else None


def _conv(filters, kernel_size, strides, weight_decay, name):
  # No bias: every conv is followed by batch norm, whose shift makes a bias redundant.
  return tf.keras.layers.Conv2D(
      filters, kernel_size, strides=strides, padding="same", use_bias=False,
      kernel_initializer=tf.keras.initializers.VarianceScaling(2.0, "fan_out", "truncated_normal"),
      kernel_regularizer=_regularizer(weight_decay), name=name)


def _bn(name, zero_gamma=False):
  return tf.keras.layers.BatchNormalization(
      momentum=_BN_MOMENTUM, epsilon=_BN_EPSILON, name=name,
      gamma_initializer="zeros" if zero_gamma else "ones")


def _shortcut(x, filters, strides, weight_decay, name):
  """Identity when shapes match, else a 1x1 projection with BN (option B)."""
  if strides == 1 and x.shape[-1] == filters:
    return x
  x = _conv(filters, 1, strides, weight_decay, name + "_proj")(x)
  return _bn(name + "_proj_bn")(x)


def basic_block(x, filters, strides, cfg: ModelConfig, name):
  """Two 3x3 convolutions; output has `filters` channels."""
  shortcut = _shortcut(x, filters, strides, cfg.weight_decay, name)
  y = _conv(filters, 3, strides, cfg.weight_decay, name + "_conv1")(x)
  y = tf.keras.layers.ReLU(name=name + "_relu1")(_bn(name + "_bn1")(y))
  y = _conv(filters, 3, 1, cfg.weight_decay, name + "_conv2")(y)
  y = _bn(name + "_bn2", zero_gamma=cfg.zero_init_residual)(y)
  y = tf.keras.layers.Add(name=name + "_add")([shortcut, y])
  return tf.keras.layers.ReLU(name=name + "_out")(y)


def bottleneck_block(x, filters, strides, cfg: ModelConfig, name):
  """1x1 reduce → 3x3 (carries the stride: v1.5) → 1x1 expand to 4 * filters."""
  shortcut = _shortcut(x, 4 * filters, strides, cfg.weight_decay, name)
  y = _conv(filters, 1, 1, cfg.weight_decay, name + "_conv1")(x)
  y = tf.keras.layers.ReLU(name=name + "_relu1")(_bn(name + "_bn1")(y))
  y = _conv(filters, 3, strides, cfg.weight_decay, name + "_conv2")(y)
  y = tf.keras.layers.ReLU(name=name + "_relu2")(_bn(name + "_bn2")(y))
  y = _conv(4 * filters, 1, 1, cfg.weight_decay, name + "_conv3")(y)
  y = _bn(name + "_bn3", zero_gamma=cfg.zero_init_residual)(y)
  y = tf.keras.layers.Add(name=name + "_add")([shortcut, y])
  return tf.keras.layers.ReLU(name=name + "_out")(y)


def _normalize(images, cfg: ModelConfig):
  # float32 on purpose: pixel statistics in bfloat16 (8 mantissa bits) would
  # shift every input by up to ~0.4%; the cast to the compute dtype comes after.
  norm = tf.keras.layers.Normalization(
      mean=list(cfg.mean), variance=[s * s for s in cfg.std], dtype="float32",
      name="normalize")
  return norm(images)


def _head(x, cfg: ModelConfig):
  embedding = tf.keras.layers.GlobalAveragePooling2D(name="embedding")(x)
  # float32 classifier: logits and the softmax after them stay exact under bf16.
  logits = tf.keras.layers.Dense(
      cfg.num_classes, dtype="float32", name="logits",
      kernel_initializer=tf.keras.initializers.RandomNormal(stddev=0.01),
      kernel_regularizer=_regularizer(cfg.weight_decay))(embedding)
  return logits


def ResNet(cfg: ModelConfig, *, stage_sizes: Sequence[int], block=bottleneck_block,  # noqa: N802 (named like the model, as flax does)
           stem: str = "imagenet", stage_filters=(64, 128, 256, 512), name="resnet"):
  """Builds a ResNet as a functional Keras model: [0,255] images → float32 logits.

  Args:
    cfg: model hyperparameters.
    stage_sizes: number of blocks per stage.
    block: `basic_block` or `bottleneck_block`.
    stem: "imagenet" (7x7/2 conv + 3x3/2 max-pool) or "cifar" (3x3/1 conv).
    stage_filters: base filters per stage; each later stage downsamples by 2.
    name: Keras model name.

  Returns:
    A `tf.keras.Model` with input `(None, image_size, image_size, 3)`.
  """
  if len(stage_sizes) != len(stage_filters):
    raise ValueError(f"stage_sizes {list(stage_sizes)} and stage_filters {list(stage_filters)} "
                     "must have the same length (one filter count per stage)")
  if cfg.num_classes < 2:
    raise ValueError(f"num_classes={cfg.num_classes}: a classifier needs at least 2 classes")
  images = tf.keras.Input((cfg.image_size, cfg.image_size, 3), name="images")
  x = _normalize(images, cfg)
  if stem == "imagenet":
    x = _conv(stage_filters[0], 7, 2, cfg.weight_decay, "stem_conv")(x)
    x = tf.keras.layers.ReLU(name="stem_relu")(_bn("stem_bn")(x))
    x = tf.keras.layers.MaxPool2D(3, strides=2, padding="same", name="stem_pool")(x)
  elif stem == "cifar":
    x = _conv(stage_filters[0], 3, 1, cfg.weight_decay, "stem_conv")(x)
    x = tf.keras.layers.ReLU(name="stem_relu")(_bn("stem_bn")(x))
  else:
    raise ValueError(f"stem={stem!r}: use 'imagenet' or 'cifar'")
  for stage, (num_blocks, filters) in enumerate(zip(stage_sizes, stage_filters, strict=True)):
    for i in range(num_blocks):
      strides = 2 if stage > 0 and i == 0 else 1
      x = block(x, filters, strides, cfg, name=f"stage{stage + 1}_block{i + 1}")
  return tf.keras.Model(images, _head(x, cfg), name=name)


def _cifar(depth):
  if (depth - 2) % 6:
    raise ValueError(f"CIFAR ResNet depth must be 6n+2, got {depth}")
  n = (depth - 2) // 6
  return functools.partial(ResNet, stage_sizes=[n, n, n], block=basic_block, stem="cifar",
                           stage_filters=(16, 32, 64), name=f"resnet{depth}")


# CIFAR family: 3 stages x n basic blocks, 16-32-64 filters.
ResNet20 = _cifar(20)
ResNet32 = _cifar(32)
ResNet44 = _cifar(44)
ResNet56 = _cifar(56)
ResNet110 = _cifar(110)

# ImageNet family.
ResNet18 = functools.partial(ResNet, stage_sizes=[2, 2, 2, 2], block=basic_block, name="resnet18")
ResNet34 = functools.partial(ResNet, stage_sizes=[3, 4, 6, 3], block=basic_block, name="resnet34")
ResNet50 = functools.partial(ResNet, stage_sizes=[3, 4, 6, 3], name="resnet50")
ResNet101 = functools.partial(ResNet, stage_sizes=[3, 4, 23, 3], name="resnet101")

NAMES = ("ResNet20", "ResNet32", "ResNet44", "ResNet56", "ResNet110",
         "ResNet18", "ResNet34", "ResNet50", "ResNet101")


def create(name: str, cfg: ModelConfig) -> tf.keras.Model:
  """The model called `name` (e.g. "ResNet20"), with a clear error for unknown names."""
  if name not in NAMES:
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(NAMES)} "
                     "(set --config.model=...)")
  return globals()[name](cfg)


def embedding_model(model: tf.keras.Model) -> tf.keras.Model:
  """The same network up to the pooled features (shares the weights of `model`)."""
  return tf.keras.Model(model.input, model.get_layer("embedding").output,
                        name=model.name + "_encoder")
