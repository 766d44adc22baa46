"""Image folders: `root/<class name>/*.png|jpg`, the layout of Keras' `image_dataset_from_directory`.

Classes are the sub-directory names in sorted order, so label 3 means the same class on every
machine; files are sorted too, so the listing is reproducible. `root` may be on any file system
TensorFlow knows (gs://bucket/images, ram://, local): it is listed through `tf.io.gfile`.
"""

import os

import tensorflow as tf

EXTENSIONS = (".png", ".jpg", ".jpeg")


def list_images(root: str | os.PathLike) -> tuple[list[str], list[int], list[str]]:
  """Lists the images under `root/<class>/`.

  Returns:
    (paths, labels, class_names): file paths, their class indices, and the class names
    (sorted sub-directory names; index i is label i).

  Raises:
    FileNotFoundError: `root` is missing, has no class sub-directories, or has no images.
  """
  root = os.fspath(root)
  if not tf.io.gfile.isdir(root):
    raise FileNotFoundError(f"image folder {root} does not exist")
  # Object stores list "directories" with a trailing slash.
  class_names = sorted(name.rstrip("/") for name in tf.io.gfile.listdir(root)
                       if not name.startswith(".") and tf.io.gfile.isdir(os.path.join(root, name)))
  if not class_names:
    raise FileNotFoundError(
        f"image folder {root} has no class sub-directories; expected {root}/<class>/<image>.png")
  paths, labels = [], []
  for label, name in enumerate(class_names):
    directory = os.path.join(root, name)
    for file_name in sorted(tf.io.gfile.listdir(directory)):
      path = os.path.join(directory, file_name)
      if (os.path.splitext(file_name)[1].lower() in EXTENSIONS
          and not tf.io.gfile.isdir(path)):
        paths.append(path)
        labels.append(label)
  if not paths:
    raise FileNotFoundError(
        f"image folder {root} has class directories {class_names[:5]} but no "
        f"{'/'.join(EXTENSIONS)} images in them")
  return paths, labels, class_names


def image_dataset(root: str | os.PathLike) -> tuple[tf.data.Dataset, list[str]]:
  """A dataset of (encoded image bytes, int64 label) read from an image folder, and class names.

  It yields the same elements as `tfrecord.image_dataset`, so a pipeline takes either source.
  """
  paths, labels, class_names = list_images(root)
  ds = tf.data.Dataset.from_tensor_slices((paths, tf.constant(labels, tf.int64)))
  ds = ds.map(lambda path, label: (tf.io.read_file(path), label),
              num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  return ds, class_names
