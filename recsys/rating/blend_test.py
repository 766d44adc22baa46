"""The rating blend: weights recovered by least squares, the hold-out protocol, and its cache."""

import numpy as np
import pytest

from recsys.data import protocols
from recsys.data.interactions import Interactions
from recsys.rating import blend as blend_lib


def _table(n, seed=0):
  rng = np.random.default_rng(seed)
  users = np.array([f"u{k}" for k in rng.integers(0, 50, n)], dtype=object)
  items = np.array([f"i{k}" for k in rng.integers(0, 80, n)], dtype=object)
  return Interactions(users, items, np.arange(n, dtype=np.int64),
                      rng.integers(1, 6, n).astype(np.float32))


def test_blend_recovers_the_weights_that_generated_the_ratings():
  rng = np.random.default_rng(0)
  a, b = rng.uniform(1, 5, 5000), rng.uniform(1, 5, 5000)
  truth = 0.3 + 0.6 * a + 0.3 * b  # stays within [1, 5]: the clip does not bend it
  blend = blend_lib.Blend.fit({"a": a, "b": b}, truth, l2=1e-6)
  np.testing.assert_allclose(blend.weights, [0.6, 0.3], atol=1e-6)
  assert blend.intercept == pytest.approx(0.3, abs=1e-5)
  np.testing.assert_allclose(blend.predict({"b": b, "a": a}), truth, atol=1e-5)  # by name, not order


def test_blend_of_two_noisy_estimates_beats_either():
  rng = np.random.default_rng(1)
  truth = rng.uniform(1, 5, 4000)
  a, b = truth + rng.normal(0, 0.5, 4000), truth + rng.normal(0, 0.5, 4000)
  blend = blend_lib.Blend.fit({"a": a, "b": b}, truth)
  rmse = lambda p: np.sqrt(np.mean((p - truth) ** 2))  # noqa: E731
  assert rmse(blend.predict({"a": a, "b": b})) < 0.8 * min(rmse(a), rmse(b))
  assert (blend.predict({"a": a + 10, "b": b + 10}) <= 5).all()  # clipped to the rating scale


def test_blend_errors_name_the_problem():
  with pytest.raises(ValueError, match="at least one member"):
    blend_lib.Blend.fit({}, np.ones(3))
  with pytest.raises(ValueError, match="same rows as the truth"):
    blend_lib.Blend.fit({"a": np.ones(4)}, np.ones(3))
  blend = blend_lib.Blend.fit({"a": np.arange(5.0), "b": np.ones(5)}, np.arange(5.0))
  with pytest.raises(ValueError, match=r"fitted with \['b'\], which are missing"):
    blend.predict({"a": np.ones(2)})


@pytest.mark.parametrize("filesystem", ["local", "ram"])
def test_holdout_fits_each_member_on_the_right_tables_and_caches(tmp_path, filesystem):
  # ram:// stands for a workdir on a non-local file system such as gs://.
  cache_dir = str(tmp_path) if filesystem == "local" else f"ram://rating_blend/{tmp_path.name}/fits"
  base, test = _table(2000), _table(300, seed=1)
  split = protocols.with_hash_validation(base, test)
  calls = []

  def member(train, target):  # predicts the mean rating of the table it was fitted on
    calls.append((len(train), len(target)))
    return np.full(len(target), train.rating.mean())

  held = blend_lib.holdout_predictions({"mean": member}, base, test, cache_dir=cache_dir)
  assert calls == [(len(split.train), len(split.validation)), (len(base), len(test))]
  assert 0 < len(split.validation) < 0.1 * len(base)
  np.testing.assert_allclose(held.validation["mean"], split.train.rating.mean(), rtol=1e-6)
  np.testing.assert_allclose(held.test["mean"], base.rating.mean(), rtol=1e-6)
  np.testing.assert_array_equal(held.validation_rating, split.validation.rating)
  again = blend_lib.holdout_predictions({"mean": member}, base, test, cache_dir=cache_dir)
  assert len(calls) == 2  # both fits came from the cache
  np.testing.assert_array_equal(again.test["mean"], held.test["mean"])
  assert again.seconds["test"]["mean"] == pytest.approx(held.seconds["test"]["mean"])
  other_test = _table(300, seed=2)  # a different table is a different cache entry
  blend_lib.holdout_predictions({"mean": member}, base, other_test, cache_dir=cache_dir)
  assert len(calls) == 3


def test_holdout_rejects_a_member_that_predicts_the_wrong_number_of_rows():
  with pytest.raises(RuntimeError, match="'short' returned"):
    blend_lib.holdout_predictions({"short": lambda train, target: np.ones(3)},
                                  _table(500), _table(50, seed=1))
