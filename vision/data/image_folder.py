"""Image folders: `root/<class>/*.png|jpg` (class = sub-folder name, sorted), hash-split by path.

Each image's split is a hash of its path relative to `root` (`<class>/<file>`), the same for a
local and a gs:// root. Bytes are read lazily, when the pipeline reaches them (folders can be
large), and each file is checked to start like a PNG or JPEG, so a misnamed or broken file fails
naming that file rather than as a decoder error deep in a training step.
"""

import os

import tensorflow as tf

from common.data import fingerprint, splits
from common.data import image_folder as folder_listing
from vision.data import examples


def read_image_file(path: tf.Tensor) -> tf.Tensor:
  """The bytes of one image file, checked to start like a PNG or JPEG.

  A file that is not fails (`tf.errors.InvalidArgumentError`) naming the file and the fix.
  """
  data = tf.io.read_file(path)
  is_image = tf.logical_or(tf.equal(tf.strings.substr(data, 0, 8), b"\x89PNG\r\n\x1a\n"),
                           tf.equal(tf.strings.substr(data, 0, 3), b"\xff\xd8\xff"))
  check = tf.debugging.Assert(is_image, [
      path, "is not a PNG or JPEG image (by its first bytes); convert or delete it (an image "
      "folder holds one .png/.jpg image per file)"])
  with tf.control_dependencies([check]):
    return tf.identity(data)


def read(root, fractions=(0.8, 0.1, 0.1)) -> examples.Splits:
  """`root/<class>/*.png|jpg`, hash-split on each file's path relative to `root`.

  The fingerprint covers the relative paths, not the pixels: reading every image of a large
  folder (or bucket) only to name it would cost a full pass over the data.
  """
  paths, labels, class_names = folder_listing.list_images(root)
  prefix = os.path.join(os.fspath(root), "")
  keys = [p[len(prefix):] for p in paths]  # "<class>/<file>", also for gs:// roots
  by_split = {name: ([], []) for name in splits.SPLITS}
  for key, path, label in zip(keys, paths, labels, strict=True):
    by_split[splits.split_of(key, fractions)][0].append(path)
    by_split[splits.split_of(key, fractions)][1].append(label)

  def lazy(paths, labels):
    ds = tf.data.Dataset.from_tensor_slices((tf.constant(paths, tf.string),
                                             tf.constant(labels, tf.int64)))
    return ds.map(lambda p, y: (read_image_file(p), y), num_parallel_calls=tf.data.AUTOTUNE)

  empty = [name for name, (p, _) in by_split.items() if not p and name != "test"]
  if empty:
    raise ValueError(f"image folder {root}: split {empty[0]} is empty with {len(paths)} images; "
                     "add images or change data.split_fractions")
  return examples.Splits(
      train=lazy(*by_split["train"]), validation=lazy(*by_split["validation"]),
      test=lazy(*by_split["test"]) if by_split["test"][0] else examples.tensor_dataset([], []),
      class_names=class_names,
      train_label_counts=examples.label_counts(by_split["train"][1], len(class_names)),
      sizes={k: len(v[0]) for k, v in by_split.items()},
      fingerprint=fingerprint.of("folder", keys))
