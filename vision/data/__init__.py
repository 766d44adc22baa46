"""Image data: every source reads into one `Splits` of (encoded image bytes, label), through `load`.

    from vision import data
    splits = data.load(config.data, data_dir)     # config.data.source picks the module

One module per source:

| data.source | module | where the data is |
|---|---|---|
| `shopworld` | `shopworld.py`: the synthetic shop world's item images, label = category | `data.path`: the world directory |
| `digits` | `digits.py`: scikit-learn's 1,797 real 8x8 handwritten digits, no download | (bundled) |
| `mnist`, `fashion_mnist` | `idx.py`: the official idx files, sha256 from `common.data.datasets` | `<data_dir>/<name>/` |
| `idx` | `idx.py`: ONE images/labels pair of idx files | `data.images`, `data.labels` |
| `cifar10` | `cifar10.py`: the python batches or archive, md5 from `common.data.datasets` | `<data_dir>/cifar10/` |
| `image_folder` | `image_folder.py`: `<path>/<class>/*.png, *.jpg` | `data.path`: the root folder |
| `tfrecord` | `tfrecord.py`: ImageNet-schema TFRecords, one set of files per split | `data.train_files`, ... |

`examples.py` holds `Splits` and the hash split of in-memory examples; `png.py` the PNG encoding
of array sources. A new source is a new module here and a row above; a dataset with published
checksums adds them to `common/data/datasets.py`; every fingerprint comes from
`common.data.fingerprint`. Every location may be on any file system TensorFlow knows (gs://...).
"""

from common.data import data_dir as data_dir_lib
from vision.data import cifar10, digits, examples, idx, image_folder, shopworld, tfrecord

Splits = examples.Splits
SOURCES = ("shopworld", "digits", "mnist", "fashion_mnist", "idx", "cifar10", "image_folder",
           "tfrecord")


def load(data_cfg, data_dir: str | None = None) -> Splits:
  """The `Splits` that `data_cfg` (the config's `data` block) names.

  Args:
    data_cfg: `source` (one of SOURCES), `path`, `images`/`labels`, `*_files`, `class_names`,
      `num_classes`, `split_fractions`.
    data_dir: the real-data directory (mnist, fashion_mnist, cifar10); default
      `$TRELLIS_DATA_DIR` or ../shared/data.
  """
  source = data_cfg.source
  fractions = tuple(data_cfg.split_fractions)
  if source == "digits":
    return digits.read(fractions)
  if source == "shopworld":
    if not data_cfg.path:
      raise ValueError("data.source=shopworld needs data.path: the directory a shop world "
                       "was written to (e.g. --config.data.path=/tmp/trellis/world)")
    return shopworld.read(data_cfg.path, fractions)
  if source in ("mnist", "fashion_mnist"):
    return idx.read(data_dir_lib.resolve(data_dir), source, fractions[1])
  if source == "idx":
    if not (data_cfg.images and data_cfg.labels):
      raise ValueError("data.source=idx needs one images/labels pair of idx files: "
                       "--config.data.images=/path/train-images-idx3-ubyte.gz "
                       "--config.data.labels=/path/train-labels-idx1-ubyte.gz")
    return idx.read_pair(data_cfg.images, data_cfg.labels, fractions,
                         list(data_cfg.class_names or ()))
  if source == "cifar10":
    return cifar10.read(data_dir_lib.resolve(data_dir), fractions[1])
  if source == "image_folder":
    if not data_cfg.path:
      raise ValueError("data.source=image_folder needs --config.data.path=<folder holding one "
                       "sub-folder of images per class>")
    return image_folder.read(data_cfg.path, fractions)
  if source == "tfrecord":
    class_names = list(data_cfg.class_names) or [str(i) for i in range(data_cfg.num_classes)]
    return tfrecord.read(data_cfg.train_files, data_cfg.validation_files, data_cfg.test_files,
                         class_names)
  raise ValueError(f"data.source={source!r} is not one of {', '.join(SOURCES)}")
