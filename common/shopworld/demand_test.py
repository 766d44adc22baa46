"""demand: the written series shows the trend, weekly and yearly patterns and promotions it was built from."""

import datetime

import numpy as np
import pytest

from common.shopworld import demand, world


@pytest.fixture(scope="module")
def small_world():
  # Demand alone for 3 years of the "small" world is cheap to draw; the rest of "tiny" is reused.
  w = world.generate(seed=0, size="tiny")
  truth = w.truth.demand
  rng = np.random.default_rng(0)
  series = demand.sample_series(rng, truth, world.START_DATE, 1095)
  return w, truth, series


def test_weekly_pattern_matches_truth(small_world):
  _, truth, series = small_world
  weekday = np.array([(world.START_DATE + datetime.timedelta(days=d)).weekday() for d in range(1095)])
  mean = demand.seasonal_factor(truth, world.START_DATE, 1095)
  ratio = series / mean  # removes trend, season and promotions: leaves noise around 1
  assert abs(ratio.mean() - 1) < 0.02
  raw = np.stack([series[weekday == k].mean(0) for k in range(7)])
  weekend_lift = raw[5:].mean(0) / raw[:5].mean(0)
  truth_lift = truth.weekly[:, 5:].mean(1) / truth.weekly[:, :5].mean(1)
  np.testing.assert_allclose(weekend_lift, truth_lift, rtol=0.1)


def test_yearly_season_peaks_near_the_true_peak(small_world):
  w, truth, series = small_world
  garden = w.categories.index("garden")  # the most seasonal category, peaking in May
  by_day_of_year = np.zeros(366)
  for d in range(1095):
    by_day_of_year[(world.START_DATE + datetime.timedelta(days=d)).timetuple().tm_yday - 1] += series[d, garden]
  smooth = np.convolve(np.r_[by_day_of_year[-30:], by_day_of_year, by_day_of_year[:30]],
                       np.ones(61) / 61, mode="same")[30:-30]
  assert abs(int(np.argmax(smooth)) + 1 - truth.peak_day[garden]) < 40


def test_promotions_lift_sales(small_world):
  _, truth, series = small_world
  on = np.zeros_like(series, bool)
  for c, first, length, _ in truth.promotions:
    on[first:first + length, c] = True
  base = demand.seasonal_factor(truth, world.START_DATE, 1095)
  assert (series[on] / base[on]).mean() == pytest.approx(1.0, abs=0.05)  # the lift is in the mean
  assert series[on].mean() / series[~on].mean() > 1.2


def test_trend_and_counts(small_world):
  _, truth, series = small_world
  assert series.dtype == np.int64 and (series >= 0).all()
  growth = series[-365:].sum(0) / series[:365].sum(0)
  expected = (1 + truth.trend * 2.5) / (1 + truth.trend * 0.5)
  np.testing.assert_allclose(growth, expected, rtol=0.12)


def test_promotion_rows_are_dates_within_range(small_world):
  w, truth, _ = small_world
  rows = demand.promotion_rows(truth, world.START_DATE, w.categories, len(w.dates))
  assert rows == sorted(set(rows)) and rows[0][0] >= w.dates[0] and rows[-1][0] <= w.dates[-1]
