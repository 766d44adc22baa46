"""scikit-learn's bundled handwritten digits: 1,797 real 8x8 images, no download.

The UCI "Optical Recognition of Handwritten Digits" test part, as `sklearn.datasets.load_digits`
ships it (values 0..16, scaled here to 0..255). Split by a hash of the key `digits-<index>`:
80/10/10 gives 1,434 / 191 / 172 images on every machine.
"""

import numpy as np

from common.data import fingerprint
from vision.data import examples, png

CLASS_NAMES = [str(d) for d in range(10)]


def read(fractions=(0.8, 0.1, 0.1)) -> examples.Splits:
  """The digits as PNG bytes, hash-split by sample index."""
  from sklearn.datasets import load_digits  # third-party, here: only this source needs sklearn

  data = load_digits()
  images = np.round(data.images * (255.0 / 16.0)).astype(np.uint8)
  keys = [f"digits-{i}" for i in range(len(images))]
  return examples.from_arrays(keys, png.encode_all(images), data.target, CLASS_NAMES, fractions,
                              fingerprint.of("digits", images))
