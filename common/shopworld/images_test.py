"""images: every category's family renders, deterministically, and families differ."""

import io

import numpy as np
import pytest
from PIL import Image

from common.shopworld import catalog, images


def test_every_category_has_a_known_shape():
  assert {c.shape for c in catalog.CATEGORIES} == set(images.SHAPES)


def test_same_stream_same_pixels_and_png_bytes():
  a = images.render(np.random.default_rng(3), "disc", 0.3)
  b = images.render(np.random.default_rng(3), "disc", 0.3)
  assert a.shape == (32, 32, 3) and a.dtype == np.uint8
  np.testing.assert_array_equal(a, b)
  assert images.encode_png(a) == images.encode_png(b)
  np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(images.encode_png(a)))), a)


def test_items_of_one_category_vary():
  rng = np.random.default_rng(0)
  a, b = images.render(rng, "grid", 0.6), images.render(rng, "grid", 0.6)
  assert np.abs(a.astype(int) - b.astype(int)).mean() > 10


def test_category_means_differ_more_than_items_within_a_category():
  # The class signal: mean images of two families are far apart relative to their spread.
  rng = np.random.default_rng(0)
  stack = {s: np.stack([images.render(rng, s, 0.5).astype(float) for _ in range(40)])
           for s in ("ring", "cross")}
  between = np.abs(stack["ring"].mean(0) - stack["cross"].mean(0)).mean()
  assert between > 8


def test_hue_sets_the_dominant_colour():
  rng = np.random.default_rng(0)
  red = np.mean([images.render(rng, "disc", 0.0)[12:20, 12:20].mean((0, 1)) for _ in range(20)], 0)
  green = np.mean([images.render(rng, "disc", 0.33)[12:20, 12:20].mean((0, 1)) for _ in range(20)], 0)
  assert red[0] > red[1] + 40 and green[1] > green[0] + 40


def test_other_sizes_and_unknown_shape():
  assert images.render(np.random.default_rng(0), "dots", 0.1, size=64).shape == (64, 64, 3)
  with pytest.raises(ValueError, match="unknown shape 'star'"):
    images.render(np.random.default_rng(0), "star", 0.1)
