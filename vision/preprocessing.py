"""Raw encoded image bytes → fixed-size float pixels, identically in training and serving.

This is the one function both `input_pipeline` (training/eval) and `export` (the
`classify`/`embed` signatures) call, so what a client sends is preprocessed exactly
as the training data was: no training–serving skew.

Bytes are checked before they are decoded, so a bad request gets an error that says
what is wrong instead of an out-of-memory or an opaque decoder failure:

* empty bytes, or bytes that are neither JPEG (`FF D8 FF`) nor PNG (`89 50 4E 47 0D 0A 1A 0A`),
* images whose header declares more than `max_pixels` pixels (a 100k x 100k PNG is
  only a few bytes of header but 30 GB decoded): the size is read from the PNG IHDR
  chunk or the JPEG frame header, which costs nothing.

Decoded images are RGB (grayscale is replicated into three channels), resized with
antialiasing to `image_size` x `image_size`; with `crop_fraction < 1` (ImageNet
evaluation: 0.875) the shorter side is first resized to `image_size / crop_fraction`
and the central square is cropped. Pixel values stay in [0, 255]: per-channel
normalisation is the model's first layer.
"""

import tensorflow as tf

# 50 megapixels: more than a modern phone's default photo, far less than what would
# exhaust a server's memory when decoded (x3 bytes) and resized in float32 (x12).
DEFAULT_MAX_PIXELS = 50_000_000

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_shape(encoded):
  """(height, width) from the IHDR chunk, which the PNG spec puts first at byte 16."""
  raw = tf.io.decode_raw(tf.strings.substr(encoded, 16, 8), tf.uint8)
  raw = tf.cast(tf.pad(raw, [[0, 8 - tf.shape(raw)[0]]]), tf.int64)
  width = raw[0] * 2**24 + raw[1] * 2**16 + raw[2] * 2**8 + raw[3]
  height = raw[4] * 2**24 + raw[5] * 2**16 + raw[6] * 2**8 + raw[7]
  return tf.stack([height, width])


def check_and_decode(encoded: tf.Tensor, max_pixels: int = DEFAULT_MAX_PIXELS) -> tf.Tensor:
  """Validates one encoded image (scalar string) and decodes it to uint8 RGB [H, W, 3].

  Raises (when run) `tf.errors.InvalidArgumentError` naming the problem and the fix.
  """
  encoded = tf.convert_to_tensor(encoded, tf.string)
  length = tf.strings.length(encoded)
  is_jpeg = tf.equal(tf.strings.substr(encoded, 0, 3), _JPEG_MAGIC)
  is_png = tf.equal(tf.strings.substr(encoded, 0, 8), _PNG_MAGIC)
  checks = [
      tf.debugging.assert_positive(
          length, message="image bytes are empty: send the encoded JPEG or PNG file's "
          "contents (e.g. open(path, 'rb').read())"),
      tf.debugging.Assert(
          tf.logical_or(is_jpeg, is_png),
          ["image bytes are not JPEG or PNG (unknown header); send the raw file bytes "
           "of a .jpg/.png (not base64 text or decoded pixels). First bytes:",
           tf.strings.substr(encoded, 0, 8)], summarize=8),
  ]
  with tf.control_dependencies(checks):
    shape = tf.cond(
        is_jpeg,
        lambda: tf.cast(tf.image.extract_jpeg_shape(encoded)[:2], tf.int64),
        lambda: _png_shape(encoded))
  height, width = shape[0], shape[1]
  too_big = tf.debugging.Assert(
      height * width <= max_pixels,
      ["image is too large to decode safely: height x width =", height, width,
       f"exceeds max_pixels={max_pixels}; downscale it before sending "
       "(the model works at a few hundred pixels anyway)"])
  with tf.control_dependencies([too_big]):
    # decode_image picks the decoder from the magic bytes checked above;
    # expand_animations=False always yields a 3-D image.
    image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
  image.set_shape([None, None, 3])
  return image


def resize(image: tf.Tensor, image_size: int, crop_fraction: float = 1.0) -> tf.Tensor:
  """uint8/float [H, W, 3] → float32 [image_size, image_size, 3], values in [0, 255]."""
  image = tf.cast(image, tf.float32)
  if crop_fraction < 1.0:
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = (image_size / crop_fraction) / tf.reduce_min(shape)
    new_shape = tf.cast(tf.math.ceil(shape * scale), tf.int32)
    image = tf.image.resize(image, new_shape, antialias=True)
    image = tf.image.resize_with_crop_or_pad(image, image_size, image_size)
  else:
    image = tf.image.resize(image, [image_size, image_size], antialias=True)
  return tf.clip_by_value(image, 0.0, 255.0)


def decode_and_resize(encoded: tf.Tensor, image_size: int, crop_fraction: float = 1.0,
                      max_pixels: int = DEFAULT_MAX_PIXELS) -> tf.Tensor:
  """One encoded image → float32 [image_size, image_size, 3] in [0, 255]."""
  return resize(check_and_decode(encoded, max_pixels), image_size, crop_fraction)


def decode_batch(encoded: tf.Tensor, image_size: int, crop_fraction: float = 1.0,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> tf.Tensor:
  """A [batch] string tensor of encoded images (each any size) → float32 [batch, S, S, 3]."""
  encoded = tf.convert_to_tensor(encoded, tf.string)
  tf.debugging.assert_rank(encoded, 1, message="expected a 1-D batch of encoded images")
  return tf.map_fn(
      lambda e: decode_and_resize(e, image_size, crop_fraction, max_pixels), encoded,
      fn_output_signature=tf.TensorSpec([image_size, image_size, 3], tf.float32))
