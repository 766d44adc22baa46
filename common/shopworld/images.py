"""Small product photos rendered with NumPy: the category decides the shape family and colour.

Each category draws one shape family (stripes, a disc, a grid...) in its colour on a light
background; every item varies the position, size, angle, hue, brightness and background, and
pixel noise is added. A linear classifier on raw pixels does far better than chance but not
perfectly; a small CNN does better still, which is what the vision tests want to see.
"""

import colorsys
import io

import numpy as np
from PIL import Image

SHAPES = ("stripes", "rectangle", "grid", "frame", "disc", "dots", "diamond", "ring", "cross",
          "checker")


def _mask(shape: str, u: np.ndarray, v: np.ndarray, scale: float, period: float) -> np.ndarray:
  """Where the shape is, in rotated, centred coordinates u, v (pixels)."""
  r = np.hypot(u, v)
  half = 10.0 * scale
  if shape == "stripes":
    return (np.mod(u, period) < period / 2) & (np.abs(v) < half * 1.3)
  if shape == "rectangle":
    return (np.abs(u) < half * 0.7) & (np.abs(v) < half * 1.1)
  if shape == "grid":
    inside = (np.abs(u) < half) & (np.abs(v) < half)
    return inside & ((np.mod(u, period) < 1.6) | (np.mod(v, period) < 1.6))
  if shape == "frame":
    outer = (np.abs(u) < half) & (np.abs(v) < half)
    return outer & ~((np.abs(u) < half - 3) & (np.abs(v) < half - 3))
  if shape == "disc":
    return r < half
  if shape == "dots":
    return (np.hypot(np.mod(u, period) - period / 2, np.mod(v, period) - period / 2) < period / 4) & (
        r < half * 1.2)
  if shape == "diamond":
    return np.abs(u) + np.abs(v) < half * 1.1
  if shape == "ring":
    return (r < half) & (r > half * 0.55)
  if shape == "cross":
    return ((np.abs(u) < half * 0.3) | (np.abs(v) < half * 0.3)) & (r < half * 1.2)
  if shape == "checker":
    inside = (np.abs(u) < half) & (np.abs(v) < half)
    return inside & ((np.floor(u / period) + np.floor(v / period)) % 2 == 0)
  raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")


def render(rng: np.random.Generator, shape: str, hue: float, size: int = 32) -> np.ndarray:
  """Renders one item's image as uint8 [size, size, 3].

  Args:
    rng: the random stream (the image is a pure function of the stream's state).
    shape: the category's shape family.
    hue: the category's base hue (0..1); each item jitters it.
    size: image side in pixels.
  """
  scale = size / 32.0
  yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
  cy, cx = (size - 1) / 2 + rng.normal(0, 3 * scale, 2)
  angle = rng.uniform(-0.5, 0.5)
  u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
  v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
  mask = _mask(shape, u, v, scale * rng.uniform(0.75, 1.2), scale * rng.uniform(4.0, 6.0))
  fg = colorsys.hsv_to_rgb((hue + rng.normal(0, 0.04)) % 1.0, rng.uniform(0.5, 1.0),
                           rng.uniform(0.45, 0.95))
  bg = colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.0, 0.25), rng.uniform(0.75, 1.0))
  image = np.where(mask[..., None], np.array(fg, np.float32), np.array(bg, np.float32)) * 255.0
  image += rng.normal(0, 18, image.shape)
  return np.clip(image, 0, 255).astype(np.uint8)


def encode_png(image: np.ndarray) -> bytes:
  """PNG bytes of a uint8 RGB image (deterministic: same pixels, same bytes)."""
  buf = io.BytesIO()
  Image.fromarray(image).save(buf, format="PNG", optimize=False, compress_level=6)
  return buf.getvalue()
