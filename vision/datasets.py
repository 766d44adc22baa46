"""Image datasets as (encoded image bytes, label) pairs, split repeatably.

Every source ends up in the same shape, `Splits`: `tf.data` datasets of
`(encoded JPEG/PNG bytes, int64 label)` for train, validation and test — the same
raw input the exported model takes, so training decodes exactly as serving does.

Sources (pick with `config.data.source`):

* `shopworld`: the synthetic shop world's item images; label = item category; split
  by a hash of the item id.
* `digits`: scikit-learn's bundled 8x8 handwritten digits (1,797 real images, UCI
  "Optical Recognition of Handwritten Digits", test part), no download; split by a
  hash of the sample index.
* `mnist`, `fashion_mnist`: the official idx files under `<data_dir>/<name>/`, checked
  against published sha256s; official train/test, validation hashed out of train.
* `idx`: ONE images/labels pair of idx files (`data.images`, `data.labels`, e.g. only MNIST's
  `t10k-*`, or your own set in that format), hash-split by record index like the other sources.
* `cifar10`: the official python batches (`<data_dir>/cifar10/cifar-10-batches-py/`
  or the `cifar-10-python.tar.gz` archive), checked against published md5s.
* `image_folder`: `root/<class>/*.jpg|png`; split by a hash of the relative path.
* `tfrecord`: ImageNet-schema TFRecords with separate train/validation(/test) files,
  the layout of ImageNet conversions (`train-00000-of-01024`, `validation-*`).

Array sources (digits, MNIST, CIFAR, idx) are PNG-encoded once when loaded: a few seconds
for 60k images, and afterwards the pipeline caches decoded pixels.

Every user-supplied location (world_dir, an image folder root, idx files, TFRecords) may be on
any file system TensorFlow knows (gs://bucket/..., local): files are read with `tf.io.gfile`.
"""

import dataclasses
import hashlib
import io
import os
import pickle
import tarfile
from collections.abc import Sequence

import numpy as np
import tensorflow as tf
from PIL import Image

from common.data import data_dir as data_dir_lib
from common.data import download, idx, image_folder, splits, tfrecord

# Published checksums of the gzipped idx files, as listed by TensorFlow Datasets
# (tensorflow/datasets, tensorflow_datasets/url_checksums/{mnist,fashion_mnist}.txt).
# torchvision lists the same files' md5s (mnist: f68b3c2d…, fashion: 8d4fb7e6…).
IDX_SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
}
IDX_CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion_mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot"],
}

# CIFAR-10 python version: the archive md5 published on https://www.cs.toronto.edu/~kriz/cifar.html,
# and the md5 of each extracted batch as torchvision (torchvision/datasets/cifar.py) lists them.
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_BATCH_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}

SOURCES = ("shopworld", "digits", "mnist", "fashion_mnist", "idx", "cifar10", "image_folder",
           "tfrecord")


# One error type for every checksum failure (sha256 ones come from common.data.download).
ChecksumError = download.ChecksumError


@dataclasses.dataclass
class Splits:
  """One dataset, split. Each split yields `(encoded bytes: tf.string, label: tf.int64)`.

  Attributes:
    train, validation, test: the splits (unbatched).
    class_names: label i is `class_names[i]`.
    train_label_counts: examples per class in train (the majority baseline's input).
    sizes: examples per split (None where unknown without reading the data).
    fingerprint: identifies the exact data (recorded in export metadata).
  """

  train: tf.data.Dataset
  validation: tf.data.Dataset
  test: tf.data.Dataset
  class_names: list[str]
  train_label_counts: np.ndarray
  sizes: dict
  fingerprint: str

  @property
  def num_classes(self) -> int:
    return len(self.class_names)

  @property
  def majority_class(self) -> int:
    return int(np.argmax(self.train_label_counts))


def encode_png(image: np.ndarray) -> bytes:
  """uint8 [H, W] or [H, W, 3] → PNG bytes."""
  buf = io.BytesIO()
  Image.fromarray(np.asarray(image, np.uint8)).save(buf, "PNG")
  return buf.getvalue()


def _md5(path) -> str:
  digest = hashlib.md5(usedforsecurity=False)
  with tf.io.gfile.GFile(os.fspath(path), "rb") as f:
    while chunk := f.read(1 << 20):
      digest.update(chunk)
  return digest.hexdigest()


def _dataset(encoded: Sequence[bytes], labels) -> tf.data.Dataset:
  return tf.data.Dataset.from_tensor_slices(
      (tf.constant(list(encoded), tf.string), tf.constant(np.asarray(labels), tf.int64)))


def _counts(labels, num_classes) -> np.ndarray:
  return np.bincount(np.asarray(labels, np.int64), minlength=num_classes)


def from_arrays(keys: Sequence[str], encoded: Sequence[bytes], labels, class_names,
                fractions=(0.8, 0.1, 0.1), fingerprint: str = "") -> Splits:
  """Hash-splits in-memory examples by key (`common.data.splits.split_of`)."""
  by_split = {name: ([], []) for name in splits.SPLITS}
  for key, data, label in zip(keys, encoded, labels, strict=True):
    bucket = by_split[splits.split_of(key, fractions)]
    bucket[0].append(data)
    bucket[1].append(int(label))
  return Splits(
      train=_dataset(*by_split["train"]), validation=_dataset(*by_split["validation"]),
      test=_dataset(*by_split["test"]), class_names=list(class_names),
      train_label_counts=_counts(by_split["train"][1], len(class_names)),
      sizes={name: len(v[1]) for name, v in by_split.items()}, fingerprint=fingerprint)


def _official(train, test, class_names, validation_fraction, fingerprint) -> Splits:
  """Official train/test arrays; validation is hashed out of train by index."""
  (train_x, train_y), (test_x, test_y) = train, test
  keys = [f"train-{i}" for i in range(len(train_y))]
  is_val = np.array([splits.split_of(k, (1 - validation_fraction, validation_fraction, 0.0))
                     == "validation" for k in keys])
  encode = lambda images: [encode_png(im) for im in images]  # noqa: E731
  return Splits(
      train=_dataset(encode(train_x[~is_val]), train_y[~is_val]),
      validation=_dataset(encode(train_x[is_val]), train_y[is_val]),
      test=_dataset(encode(test_x), test_y), class_names=list(class_names),
      train_label_counts=_counts(train_y[~is_val], len(class_names)),
      sizes={"train": int((~is_val).sum()), "validation": int(is_val.sum()), "test": len(test_y)},
      fingerprint=fingerprint)


# --- scikit-learn digits -----------------------------------------------------------------

def digits(fractions=(0.8, 0.1, 0.1)) -> Splits:
  """scikit-learn's 1,797 8x8 digit images (values 0..16, scaled here to 0..255)."""
  from sklearn.datasets import load_digits  # imported here: only this source needs sklearn

  data = load_digits()
  images = np.round(data.images * (255.0 / 16.0)).astype(np.uint8)
  keys = [f"digits-{i}" for i in range(len(images))]
  fingerprint = "sklearn-digits:" + hashlib.sha256(images.tobytes()).hexdigest()[:16]
  return from_arrays(keys, [encode_png(im) for im in images], data.target,
                     [str(d) for d in range(10)], fractions, fingerprint)


# --- MNIST / Fashion-MNIST idx files -------------------------------------------------------

def load_idx(directory, name: str = "mnist", sha256: dict | None = None):
  """Reads `<directory>/{train,t10k}-{images,labels}-idx*-ubyte.gz` after checking sha256s.

  Args:
    directory: the folder holding the four `.gz` files.
    name: "mnist" or "fashion_mnist" (selects the published checksums).
    sha256: file name → expected sha256; defaults to the published ones (tests pass
      their own for small files written in the same format).

  Returns:
    ((train_images, train_labels), (test_images, test_labels)) as uint8 arrays.
  """
  if name not in IDX_SHA256:
    raise ValueError(f"unknown idx dataset {name!r}; use one of {sorted(IDX_SHA256)}")
  sha256 = sha256 or IDX_SHA256[name]
  directory = os.fspath(directory)
  arrays = {}
  for filename, digest in sha256.items():
    path = os.path.join(directory, filename)
    if not tf.io.gfile.exists(path):
      raise FileNotFoundError(
          f"{path} is missing: place the official {name} file {filename} there "
          f"(sha256 {digest}; TensorFlow Datasets' url_checksums list its download URL)")
    download.verify_sha256(path, digest)
    arrays[filename] = idx.read_idx(path)
  part = lambda prefix, kind: next(v for k, v in arrays.items() if k.startswith(f"{prefix}-{kind}"))  # noqa: E731
  train = (part("train", "images"), part("train", "labels"))
  test = (part("t10k", "images"), part("t10k", "labels"))
  for what, (images, labels) in (("train", train), ("t10k", test)):
    if len(images) != len(labels):
      raise ValueError(f"{directory}: {what} has {len(images)} images but {len(labels)} labels")
  return train, test


def idx_dataset(data_dir, name: str, validation_fraction=0.1, sha256=None) -> Splits:
  directory = data_dir_lib.require(data_dir, name, hint=f"put the four {name} idx .gz files in it")
  train, test = load_idx(directory, name, sha256)
  fingerprint = f"{name}:" + hashlib.sha256(
      "".join(sorted((sha256 or IDX_SHA256[name]).values())).encode()).hexdigest()[:16]
  return _official(train, test, IDX_CLASS_NAMES[name], validation_fraction, fingerprint)


def idx_pair_dataset(images_path, labels_path, fractions=(0.8, 0.1, 0.1),
                     class_names: Sequence[str] | None = None) -> Splits:
  """ONE idx images/labels pair, hash-split into train/validation/test by record index.

  For a user holding a single labelled set in MNIST's format (or only MNIST's t10k files).
  Classes are named by `class_names` (label i is `class_names[i]`) or "0".."K-1".

  Raises:
    FileNotFoundError / idx.IdxFormatError: naming the file (and record) and the fix
      (`common.data.idx.read_pair`); a label with no name in `class_names`.
  """
  images, labels = idx.read_pair(images_path, labels_path)
  num_classes = int(labels.max()) + 1 if len(labels) else 0
  if class_names:
    if num_classes > len(class_names):
      record = int(np.argmax(labels >= len(class_names)))
      raise idx.IdxFormatError(
          f"{labels_path}: record {record} has label {int(labels[record])} but data.class_names "
          f"names {len(class_names)} classes; add the missing names or fix the labels")
  else:
    class_names = [str(i) for i in range(num_classes)]
  if images.ndim == 4 and images.shape[-1] == 1:
    images = images[..., 0]
  keys = [f"idx-{i}" for i in range(len(labels))]
  digest = hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()[:16]
  return from_arrays(keys, [encode_png(im) for im in images], labels, class_names, fractions,
                     fingerprint="idx:" + digest)


# --- CIFAR-10 python batches ---------------------------------------------------------------

def _unpickle(data: bytes) -> dict:
  # The batches are Python 2 pickles of numpy arrays: latin1 keeps the byte strings intact.
  return pickle.loads(data, encoding="latin1")


def load_cifar10(directory, md5: dict | None = None):
  """Reads CIFAR-10's python batches after checking their md5s.

  Looks for `<directory>/cifar-10-batches-py/<batch>` (or the batches directly in
  `directory`), else for the `cifar-10-python.tar.gz` archive, whose md5 is checked
  before the batches are read from it.

  Returns:
    ((train_images, train_labels), (test_images, test_labels), class_names) with images
    uint8 [N, 32, 32, 3].
  """
  md5 = md5 or CIFAR10_BATCH_MD5
  directory = os.fspath(directory)
  folder = next((d for d in (os.path.join(directory, "cifar-10-batches-py"), directory)
                 if tf.io.gfile.exists(os.path.join(d, "test_batch"))), None)
  blobs = {}
  if folder is not None:
    for name, digest in md5.items():
      path = os.path.join(folder, name)
      if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"{path} is missing; the CIFAR-10 python version has "
                                f"{', '.join(md5)}")
      if _md5(path) != digest:
        raise ChecksumError(f"{path} has md5 {_md5(path)}, expected {digest} (published): the "
                            "file is corrupt or another version; extract cifar-10-python.tar.gz again")
      with tf.io.gfile.GFile(path, "rb") as f:
        blobs[name] = f.read()
  elif tf.io.gfile.exists(os.path.join(directory, CIFAR10_ARCHIVE)):
    archive = os.path.join(directory, CIFAR10_ARCHIVE)
    if md5 is CIFAR10_BATCH_MD5 and _md5(archive) != CIFAR10_ARCHIVE_MD5:
      raise ChecksumError(f"{archive} has md5 {_md5(archive)}, expected {CIFAR10_ARCHIVE_MD5} "
                          "(published on cs.toronto.edu/~kriz/cifar.html); download it again")
    with tf.io.gfile.GFile(archive, "rb") as f, tarfile.open(fileobj=f, mode="r:gz") as tar:
      for member in tar.getmembers():
        name = os.path.basename(member.name)
        if name in md5:
          blobs[name] = tar.extractfile(member).read()
    for name, digest in md5.items():
      if name not in blobs or hashlib.md5(blobs[name], usedforsecurity=False).hexdigest() != digest:
        raise ChecksumError(f"{archive}: member {name} is missing or has the wrong md5")
  else:
    raise FileNotFoundError(
        f"no CIFAR-10 in {directory}: place {CIFAR10_ARCHIVE} (md5 {CIFAR10_ARCHIVE_MD5}, from "
        "https://www.cs.toronto.edu/~kriz/cifar.html) or its extracted cifar-10-batches-py/ there")

  def images_labels(names):
    batches = [_unpickle(blobs[n]) for n in names]
    # Rows are 3072 bytes: 1024 red, then green, then blue, each 32x32 row-major.
    x = np.concatenate([b["data"] for b in batches]).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    y = np.concatenate([np.asarray(b["labels"]) for b in batches])
    return x.astype(np.uint8), y.astype(np.int64)

  train = images_labels(sorted(n for n in md5 if n.startswith("data_batch")))
  test = images_labels(["test_batch"])
  class_names = _unpickle(blobs["batches.meta"])["label_names"]
  return train, test, class_names


def cifar10_dataset(data_dir, validation_fraction=0.1, md5=None) -> Splits:
  directory = data_dir_lib.require(data_dir, "cifar10", hint=f"put {CIFAR10_ARCHIVE} in it")
  train, test, class_names = load_cifar10(directory, md5)
  return _official(train, test, class_names, validation_fraction, "cifar10:python")


# --- shop world, image folders, TFRecords --------------------------------------------------

def shopworld(world_dir, fractions=(0.8, 0.1, 0.1)) -> Splits:
  """The shop world's item images (`items.csv` + `images/`), labelled by category."""
  from common.data import csv_reader

  world_dir = os.fspath(world_dir)
  items = os.path.join(world_dir, "items.csv")
  if not tf.io.gfile.exists(items):
    raise data_dir_lib.DataNotFoundError(
        f"{world_dir} has no items.csv; write a shop world first: "
        "common.shopworld.world.generate(seed=0).write(dir)")
  with tf.io.gfile.GFile(items, "r") as f:
    items_text = f.read()
  header = items_text.split("\n", 1)[0].strip().split(",")
  missing = {"item_id", "category", "image_path"} - set(header)
  if missing:
    raise ValueError(f"{items} has columns {header} but no {sorted(missing)}; is it a shop world?")
  columns = csv_reader.read_columns(items, header)
  item_ids, categories, paths = (columns[k] for k in ("item_id", "category", "image_path"))
  labels_txt = os.path.join(world_dir, "labels.txt")  # label order as the world's TFRecord uses
  class_names = (_read(labels_txt).decode().split("\n")[:-1] if tf.io.gfile.exists(labels_txt)
                 else sorted(set(categories)))
  unknown = sorted(set(categories) - set(class_names))
  if unknown:
    raise ValueError(f"{items} has categories {unknown} that {labels_txt} does not list")
  labels = [class_names.index(c) for c in categories]
  encoded = [_read(os.path.join(world_dir, p)) for p in paths]
  fingerprint = "shopworld:" + hashlib.sha256(items_text.encode()).hexdigest()[:16]
  return from_arrays(item_ids, encoded, labels, class_names, fractions,
                     fingerprint)


def _read(path: str) -> bytes:
  with tf.io.gfile.GFile(path, "rb") as f:
    return f.read()


def read_image_file(path: tf.Tensor) -> tf.Tensor:
  """The bytes of one image file, checked to start like a PNG or JPEG.

  A misnamed or broken file in an image folder then fails (`tf.errors.InvalidArgumentError`)
  naming that file and the fix, rather than as a decoder error deep in a training step.
  """
  data = tf.io.read_file(path)
  is_image = tf.logical_or(tf.equal(tf.strings.substr(data, 0, 8), b"\x89PNG\r\n\x1a\n"),
                           tf.equal(tf.strings.substr(data, 0, 3), b"\xff\xd8\xff"))
  check = tf.debugging.Assert(is_image, [
      path, "is not a PNG or JPEG image (by its first bytes); convert or delete it (an image "
      "folder holds one .png/.jpg image per file)"])
  with tf.control_dependencies([check]):
    return tf.identity(data)


def folder_dataset(root, fractions=(0.8, 0.1, 0.1)) -> Splits:
  """`root/<class>/*.png|jpg`, hash-split on each file's path relative to `root`."""
  paths, labels, class_names = image_folder.list_images(root)
  prefix = os.path.join(os.fspath(root), "")
  keys = [p[len(prefix):] for p in paths]  # "<class>/<file>", also for gs:// roots
  by_split = {name: ([], []) for name in splits.SPLITS}
  for key, path, label in zip(keys, paths, labels, strict=True):
    by_split[splits.split_of(key, fractions)][0].append(path)
    by_split[splits.split_of(key, fractions)][1].append(label)

  def read(paths, labels):  # bytes are read lazily: folders can be large
    ds = tf.data.Dataset.from_tensor_slices((tf.constant(paths, tf.string),
                                             tf.constant(labels, tf.int64)))
    return ds.map(lambda p, y: (read_image_file(p), y), num_parallel_calls=tf.data.AUTOTUNE)

  empty = [name for name, (p, _) in by_split.items() if not p and name != "test"]
  if empty:
    raise ValueError(f"image folder {root}: split {empty[0]} is empty with {len(paths)} images; "
                     "add images or change data.split_fractions")
  return Splits(
      train=read(*by_split["train"]), validation=read(*by_split["validation"]),
      test=read(*by_split["test"]) if by_split["test"][0] else _dataset([], []),
      class_names=class_names, train_label_counts=_counts(by_split["train"][1], len(class_names)),
      sizes={k: len(v[0]) for k, v in by_split.items()},
      fingerprint="folder:" + hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16])


def tfrecord_dataset(train_files, validation_files, test_files, class_names,
                     max_label_count_records: int = 10_000) -> Splits:
  """ImageNet-schema TFRecords with explicit per-split files (glob patterns)."""
  if not class_names:
    raise ValueError("TFRecords carry integer labels only: set data.class_names (or data.num_classes)")
  train = tfrecord.image_dataset(train_files, check=False, num_parallel_reads=tf.data.AUTOTUNE)
  validation = tfrecord.image_dataset(validation_files, check=False)
  test = tfrecord.image_dataset(test_files, check=False) if test_files else validation
  # The majority baseline from (up to) the first `max_label_count_records` train labels: on
  # ImageNet every class is ~0.1% and reading 140 GB for that number is not worth it.
  labels = [int(y) for _, y in train.take(max_label_count_records).as_numpy_iterator()]
  files = tfrecord.expand_files(train_files) + tfrecord.expand_files(validation_files)
  return Splits(train=train, validation=validation, test=test, class_names=list(class_names),
                train_label_counts=_counts(labels, len(class_names)),
                sizes={"train": None, "validation": None, "test": None},
                fingerprint="tfrecord:" + hashlib.sha256(
                    "\n".join(f"{os.path.basename(f)}:{tf.io.gfile.stat(f).length}" for f in files)
                    .encode()).hexdigest()[:16])


def load(data_cfg, data_dir=None) -> Splits:
  """The `Splits` that `data_cfg` (the config's `data` block) names."""
  source = data_cfg.source
  fractions = tuple(data_cfg.split_fractions)
  if source == "digits":
    return digits(fractions)
  if source == "shopworld":
    if not data_cfg.world_dir:
      raise ValueError("data.source=shopworld needs data.world_dir: the directory a shop world "
                       "was written to (e.g. --config.data.world_dir=/tmp/trellis/world)")
    return shopworld(data_cfg.world_dir, fractions)
  if source in ("mnist", "fashion_mnist"):
    return idx_dataset(data_dir_lib.resolve(data_dir), source, fractions[1])
  if source == "idx":
    if not (data_cfg.images and data_cfg.labels):
      raise ValueError("data.source=idx needs one images/labels pair of idx files: "
                       "--config.data.images=/path/train-images-idx3-ubyte.gz "
                       "--config.data.labels=/path/train-labels-idx1-ubyte.gz")
    return idx_pair_dataset(data_cfg.images, data_cfg.labels, fractions,
                            list(data_cfg.class_names or ()))
  if source == "cifar10":
    return cifar10_dataset(data_dir_lib.resolve(data_dir), fractions[1])
  if source == "image_folder":
    if not data_cfg.root:
      raise ValueError("data.source=image_folder needs --config.data.root=<folder holding one "
                       "sub-folder of images per class>")
    return folder_dataset(data_cfg.root, fractions)
  if source == "tfrecord":
    class_names = list(data_cfg.class_names) or [str(i) for i in range(data_cfg.num_classes)]
    return tfrecord_dataset(data_cfg.train_files, data_cfg.validation_files, data_cfg.test_files,
                            class_names)
  raise ValueError(f"data.source={source!r} is not one of {', '.join(SOURCES)}")
