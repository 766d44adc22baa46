"""PNG encoding of in-memory images, for the sources that come as pixel arrays (digits, idx, CIFAR).

Every split holds encoded image bytes, the exported model's input, so array sources are encoded
once when they are loaded; PNG is lossless, so the model trains on exactly the published pixels.
"""

import io

import numpy as np
from PIL import Image


def encode(image: np.ndarray) -> bytes:
  """uint8 [H, W] or [H, W, 3] → PNG bytes."""
  buf = io.BytesIO()
  Image.fromarray(np.asarray(image, np.uint8)).save(buf, "PNG")
  return buf.getvalue()


def encode_all(images) -> list[bytes]:
  """Each image of a uint8 [N, H, W(, 3)] array (or sequence) as PNG bytes."""
  return [encode(image) for image in images]
