"""Daily demand per category: trend × weekly × yearly seasonality × promotions, with count noise.

    mean[t, c] = level[c] · (1 + trend[c] · t/365) · weekly[c][weekday(t)]
                 · (1 + amplitude[c] · cos(2π (day_of_year(t) − peak_day[c]) / 365.25))
                 · lift of any promotion running on day t
    demand[t, c] ~ NegativeBinomial(mean, dispersion 30)   (Poisson-gamma: overdispersed counts)

The same seasonal factor also moves what users buy (`interactions.py`), so the demand series and
the interaction log tell one story. Promotions are written to promotions.csv, because a
forecaster may know planned promotions in advance; their lifts stay in the ground truth.
"""

import dataclasses
import datetime

import numpy as np

from common.shopworld.catalog import Category


@dataclasses.dataclass
class DemandTruth:
  """The generating parameters of the demand series (index c is category c)."""
  level: np.ndarray           # mean units per day at the start, before seasonality
  trend: np.ndarray           # relative growth per year
  weekly: np.ndarray          # [c, 7] multipliers Monday..Sunday, mean 1
  amplitude: np.ndarray       # yearly seasonality amplitude
  peak_day: np.ndarray        # day of the year of the yearly peak
  promotions: list[tuple[int, int, int, float]]  # (category, first day, days, lift)
  dispersion: float = 30.0


def sample_truth(rng: np.random.Generator, categories: tuple[Category, ...],
                 category_share: np.ndarray, num_days: int) -> DemandTruth:
  """Draws trend, weekly pattern and promotions; the yearly shape comes from the category."""
  n = len(categories)
  level = 40.0 + 600.0 * category_share * rng.uniform(0.7, 1.3, n)
  trend = rng.normal(0.12, 0.15, n)
  weekly = np.ones((n, 7))
  for c, category in enumerate(categories):
    weekly[c, 5:] += category.weekend_lift
    weekly[c, :5] += rng.normal(0, 0.05, 5)
  weekly /= weekly.mean(axis=1, keepdims=True)
  amplitude = np.array([c.seasonality for c in categories]) * rng.uniform(0.8, 1.2, n)
  peak_day = np.array([c.peak_day for c in categories]) + rng.integers(-10, 11, n)
  promotions = []
  for c in range(n):
    for _ in range(rng.poisson(5 * num_days / 365)):
      promotions.append((c, int(rng.integers(0, num_days)), int(rng.integers(3, 11)),
                         float(np.round(rng.uniform(1.3, 2.0), 3))))
  promotions.sort()
  return DemandTruth(level=level, trend=trend, weekly=weekly, amplitude=amplitude,
                     peak_day=peak_day, promotions=promotions)


def seasonal_factor(truth: DemandTruth, start: datetime.date, num_days: int) -> np.ndarray:
  """[num_days, c] expected demand before noise (also drives what users buy over time)."""
  days = np.arange(num_days)
  dates = [start + datetime.timedelta(days=int(d)) for d in days]
  weekday = np.array([d.weekday() for d in dates])
  day_of_year = np.array([d.timetuple().tm_yday for d in dates])
  yearly = 1.0 + truth.amplitude[None, :] * np.cos(
      2 * np.pi * (day_of_year[:, None] - truth.peak_day[None, :]) / 365.25)
  mean = truth.level[None, :] * (1.0 + truth.trend[None, :] * days[:, None] / 365.0)
  mean = mean * truth.weekly[:, weekday].T * yearly
  for c, first, length, lift in truth.promotions:
    mean[first:first + length, c] *= lift
  return np.maximum(mean, 0.1)


def sample_series(rng: np.random.Generator, truth: DemandTruth, start: datetime.date,
                  num_days: int) -> np.ndarray:
  """[num_days, c] integer units sold per day and category."""
  mean = seasonal_factor(truth, start, num_days)
  rate = rng.gamma(truth.dispersion, mean / truth.dispersion)
  return rng.poisson(rate).astype(np.int64)


def promotion_rows(truth: DemandTruth, start: datetime.date, categories: list[str],
                   num_days: int) -> list[tuple[str, str]]:
  """(date, category) for every day a promotion runs, sorted: the rows of promotions.csv."""
  rows = set()
  for c, first, length, _ in truth.promotions:
    for d in range(first, min(first + length, num_days)):
      rows.add(((start + datetime.timedelta(days=d)).isoformat(), categories[c]))
  return sorted(rows)
