"""Decoding raw bytes: good images of any size work; bad bytes get an error naming the fix."""

import io
import struct
import zlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from vision import preprocessing


def encode(array, fmt):
  buf = io.BytesIO()
  Image.fromarray(array).save(buf, fmt)
  return buf.getvalue()


def png_header(width, height):
  """A PNG signature + IHDR chunk: all a decoder reads to learn the size."""
  ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
  return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr
          + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)))


@tf.function
def decode(batch):
  return preprocessing.decode_batch(batch, image_size=16)


def test_png_and_jpeg_of_any_size_and_channels_decode_to_one_shape():
  rgb = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
  gray = np.full((9, 7), 200, dtype=np.uint8)
  out = decode(tf.constant([encode(rgb, "PNG"), encode(gray, "JPEG"), encode(gray, "PNG")]))
  assert out.shape == (3, 16, 16, 3)
  assert out.dtype == tf.float32
  # A flat grey image stays flat grey in all three channels, values on the [0, 255] scale.
  np.testing.assert_allclose(out[2].numpy(), 200.0, atol=0.5)


def test_png_header_size_is_read_without_decoding():
  # IHDR holds width 300, height 20: the parser must return (height, width).
  shape = preprocessing._png_shape(tf.constant(png_header(300, 20)))
  assert shape.numpy().tolist() == [20, 300]


def test_center_crop_keeps_the_middle():
  # Left third black, middle white, right third black: a 0.5 centre crop is all white.
  image = np.zeros((30, 90, 3), np.uint8)
  image[:, 30:60] = 255
  out = preprocessing.decode_and_resize(tf.constant(encode(image, "PNG")), 8, crop_fraction=0.5)
  assert float(tf.reduce_min(out[:, 2:6])) > 250


@pytest.mark.parametrize("payload,message", [
    (b"", "image bytes are empty"),
    (b"definitely not an image", "not JPEG or PNG"),
    (b"GIF89a\x01\x00\x01\x00", "not JPEG or PNG"),
    (png_header(100_000, 100_000), "too large to decode safely"),
    (b"\xff\xd8\xff\xe0 truncated jpeg", "Invalid JPEG data"),
])
def test_bad_bytes_give_a_clear_error(payload, message):
  good = encode(np.zeros((4, 4, 3), np.uint8), "PNG")
  with pytest.raises(tf.errors.InvalidArgumentError, match=message):
    decode(tf.constant([good, payload]))


def test_a_real_image_over_the_pixel_limit_is_refused():
  big = encode(np.zeros((300, 400, 3), np.uint8), "JPEG")
  with pytest.raises(tf.errors.InvalidArgumentError, match="max_pixels=100000"):
    preprocessing.decode_and_resize(tf.constant(big), 16, max_pixels=100_000)
