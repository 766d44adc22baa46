"""Training and evaluation batches from `vision.data.Splits`, through `common.data.pipeline`.

Decoding is `preprocessing.decode_and_resize`, the same function the exported model
runs on a client's bytes. Augmentations, training only:

* `random_crop="pad"`: pad by `pad` pixels (reflect) and crop back at a random offset,
  the CIFAR recipe (He et al. 2016); decoded images are cached first, so an epoch
  costs no decoding after the first.
* `random_crop="inception"`: a random crop covering 8–100% of the image with aspect
  ratio 3/4–4/3, resized to the model size (the ImageNet recipe); this needs the full
  decoded image, so nothing is cached (ImageNet does not fit in memory anyway).
* `flip`: random left–right flips (off for digits: a mirrored 2 is not a 2).

Evaluation with `exact=True` scores every example once on static shapes: batches are
(images, labels, weights), the last one filled with zero images of weight 0
(`common.data.pipeline`, `pad_final_batch`), so metrics that take the weights skip the padding.
"""

import functools

import tensorflow as tf

from common.data import pipeline
from vision import preprocessing


def _pad_and_crop(image, pad, seed=None):
  size = image.shape[0]
  image = tf.pad(image, [[pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
  return tf.image.random_crop(image, [size, size, 3], seed=seed)


def _inception_crop(encoded, image_size, max_pixels):
  image = preprocessing.check_and_decode(encoded, max_pixels)
  begin, size, _ = tf.image.sample_distorted_bounding_box(
      tf.shape(image), bounding_boxes=tf.zeros([1, 0, 4]), min_object_covered=0.1,
      aspect_ratio_range=(3 / 4, 4 / 3), area_range=(0.08, 1.0), max_attempts=10,
      use_image_if_no_bounding_boxes=True)
  image = tf.slice(image, begin, size)
  return preprocessing.resize(image, image_size)


def create_split(ds: tf.data.Dataset, data_cfg, *, image_size: int, batch_size: int,
                 training: bool, num_classes: int | None = None,
                 input_context: tf.distribute.InputContext | None = None,
                 drop_remainder: bool = False, repeat: bool = False, seed: int = 0,
                 shard: bool = True, exact: bool = False, num_batches: int | None = None):
  """Batches of (float32 images [B, S, S, 3] in [0, 255], labels[, weights]).

  Args:
    ds: (encoded bytes, int64 label) examples of one split.
    data_cfg: the config's `data` block (augmentation and cache settings).
    image_size: model input size.
    batch_size: global batch size (split per replica when `input_context` is given).
    training: shuffle and augment.
    num_classes: if given, labels come one-hot as float32 (what label smoothing needs).
    input_context: from `strategy.distribute_datasets_from_function`.
    drop_remainder: static batch shapes (TPU).
    repeat: repeat forever (pair with `steps_per_epoch`).
    seed: shuffle/augmentation seed.
    shard: shard records per input pipeline; False when `ds` is already this pipeline's share
      (`tfrecord.image_dataset(..., input_context=ctx)` shards by file).
    exact: evaluation: every example once, on static shapes; batches gain a third element,
      float32 weights (1 real, 0 padding).
    num_batches: with `exact`, exactly this many batches per input pipeline (the same on every
      host); None: up to the end of the data.
  """
  max_pixels = data_cfg.max_pixels
  inception = training and data_cfg.random_crop == "inception"
  crop_fraction = 1.0 if training else data_cfg.eval_crop_fraction

  def decode(encoded, label):
    return preprocessing.decode_and_resize(encoded, image_size, crop_fraction, max_pixels), label

  def augment(image_or_encoded, label):
    if inception:
      image = _inception_crop(image_or_encoded, image_size, max_pixels)
    elif data_cfg.random_crop == "pad":
      image = _pad_and_crop(image_or_encoded, data_cfg.pad)
    else:
      image = image_or_encoded
    if data_cfg.flip:
      image = tf.image.random_flip_left_right(image)
    return image, label

  if data_cfg.random_crop not in ("none", "pad", "inception"):
    raise ValueError(f"data.random_crop={data_cfg.random_crop!r}: use 'none', 'pad' or 'inception'")
  ds = pipeline.build(
      ds, batch_size, training=training, shuffle_buffer=data_cfg.shuffle_buffer,
      cache=False if inception else data_cfg.cache, drop_remainder=drop_remainder,
      input_context=input_context, seed=seed,
      preprocess=None if inception else decode, augment=augment, repeat=repeat, shard=shard,
      pad_final_batch=exact, num_batches=num_batches)
  if num_classes is not None:
    one_hot = functools.partial(tf.one_hot, depth=num_classes, dtype=tf.float32)
    ds = ds.map(lambda x, y, *weights: (x, one_hot(y), *weights),
                num_parallel_calls=tf.data.AUTOTUNE)
  return ds
