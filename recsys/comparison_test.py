"""recsys.comparison: paired differences of two models' per-query values, and their noise."""

import numpy as np
import pytest

from recsys import comparison


def test_identical_models_differ_by_zero_with_no_noise():
  hits = np.array([1, 0, 1, 1, 0])
  d = comparison.paired_difference(hits, hits)
  assert d.difference == 0.0 and d.std == 0.0 and d.interval == (0.0, 0.0)
  assert d.n == 5


def test_difference_and_binomial_std_by_hand():
  # a hits 3 of 4 queries, b 1 of 4: difference 0.5; binomial std sqrt(.75 * .25 / 4) = 0.2165
  # and sqrt(.25 * .75 / 4), the same.
  a, b = np.array([1, 1, 1, 0]), np.array([1, 0, 0, 0])
  d = comparison.paired_difference(a, b, resamples=4000)
  assert d.difference == 0.5
  assert d.binomial_std == pytest.approx((0.2165, 0.2165), abs=1e-4)
  # Per-query differences [0, 1, 1, 0]: the bootstrap mean of 4 draws of a fair 0/1 has std
  # sqrt(.25 / 4) = 0.25.
  assert d.std == pytest.approx(0.25, abs=0.02)
  assert d.interval[0] <= 0.5 <= d.interval[1]
  assert "+0.500 (n=4" in d.describe()


def test_pairing_removes_shared_difficulty():
  # b is a but one query worse: the difference is always 1/n or 0 per query, and tiny noise.
  rng = np.random.default_rng(1)
  a = (rng.random(200) < 0.5).astype(float)
  b = a.copy()
  b[np.flatnonzero(a)[0]] = 0.0
  d = comparison.paired_difference(a, b)
  assert d.difference == pytest.approx(1 / 200)
  assert d.std < 0.01 < d.binomial_std[0]


def test_unpaired_inputs_are_an_error_naming_the_fix():
  with pytest.raises(ValueError, match="same order"):
    comparison.paired_difference(np.ones(3), np.ones(4))


def test_no_queries_is_reported_not_raised():
  d = comparison.paired_difference(np.array([]), np.array([]))
  assert d.n == 0 and d.describe() == "no queries"
