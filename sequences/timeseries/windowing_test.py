"""Windows and splits never let a future value reach training."""

import numpy as np
import pytest

from sequences.timeseries import windowing

L, H = 336, 96
ETT_ROWS = 17420


def test_ett_borders_are_the_papers():
  # Informer/DLinear Dataset_ETT_hour: border1s = [0, 8640 - L, 11520 - L],
  # border2s = [8640, 11520, 14400].
  b = windowing.ett_borders(ETT_ROWS, L)
  assert [b.rows(s) for s in windowing.SPLITS] == [(0, 8640), (8304, 11520), (11184, 14400)]
  # Test windows: 14400 - 11184 - (336 + 96) + 1.
  assert windowing.num_windows(b, "test", L, H) == 2785


def test_no_training_window_touches_a_later_split():
  values = np.arange(ETT_ROWS, dtype=np.float32)[:, None]  # each value is its own row index
  b = windowing.ett_borders(ETT_ROWS, L)
  for split, (first_target, end) in {"train": (L, 8640), "validation": (8640, 11520),
                                     "test": (11520, 14400)}.items():
    history, future = windowing.windows(values, windowing.window_starts(b, split, L, H), L, H)
    assert future.min() == first_target and future.max() == end - 1, split
    # History is always strictly before its own targets.
    assert np.all(history.max(axis=1) < future.min(axis=1))
  train_hist, train_future = windowing.windows(
      values, windowing.window_starts(b, "train", L, H), L, H)
  assert max(train_hist.max(), train_future.max()) < 8640  # nothing from validation/test


def test_dataset_matches_numpy_windows_and_honours_stride():
  values = np.random.default_rng(0).normal(size=(200, 3)).astype(np.float32)
  b = windowing.fraction_borders(200, 20, 5)
  starts = windowing.window_starts(b, "train", 20, 5, stride=3)
  np.testing.assert_array_equal(starts[:3], [0, 3, 6])
  hist, fut = windowing.windows(values, starts, 20, 5)
  ds = list(windowing.dataset(values, b, "train", 20, 5, stride=3).as_numpy_iterator())
  assert len(ds) == len(starts)
  np.testing.assert_array_equal(ds[1][0], values[3:23])
  np.testing.assert_array_equal(ds[1][1], values[23:28])
  np.testing.assert_array_equal(hist[1], ds[1][0])
  np.testing.assert_array_equal(fut[-1], ds[-1][1])


def test_scaler_uses_training_rows_only():
  values = np.random.default_rng(1).normal(size=(1000, 2)).astype(np.float32)
  b = windowing.fraction_borders(1000, 10, 5)
  before = windowing.Scaler.fit(values, b)
  changed = values.copy()
  changed[b.end["train"]:] += 1000.0  # a wild future must not move the statistics
  after = windowing.Scaler.fit(changed, b)
  np.testing.assert_array_equal(before.mean, after.mean)
  np.testing.assert_array_equal(before.std, after.std)
  np.testing.assert_allclose(before.mean, values[:700].mean(axis=0), rtol=1e-5)
  np.testing.assert_allclose(before.inverse(before.transform(values)), values, atol=1e-4)


def test_constant_channel_gets_unit_std():
  values = np.ones((100, 1), np.float32)
  scaler = windowing.Scaler.fit(values, windowing.fraction_borders(100, 5, 2))
  assert scaler.std[0] == 1.0 and np.all(np.isfinite(scaler.transform(values)))


def test_short_series_errors_name_the_minimum():
  with pytest.raises(ValueError, match="at least ~"):
    windowing.fraction_borders(60, 28, 14)
  with pytest.raises(ValueError, match="needs 14400 rows"):
    windowing.ett_borders(1000, L)
  with pytest.raises(ValueError, match="fractions"):
    windowing.fraction_borders(1000, 10, 5, fractions=(0.5, 0.5, 0.5))
  with pytest.raises(ValueError, match="unknown split"):
    windowing.ett_borders(ETT_ROWS, L).rows("dev")
