"""How sure a difference between two recommenders on the same queries is.

With leave-last-out there is one target per user, so a slice such as the cold items (targets
with at most 5 training interactions) holds a few dozen queries on MovieLens 100K, and a
Recall@10 of 0.10 on 30 queries is 3 hits: one hit more or less moves it by 0.033. A gain
between two models is only worth reporting with its noise.

Both models answer the same queries, so the difference is measured **paired**: the bootstrap
resamples queries (with replacement) and recomputes the mean of the per-query differences
(hit with text tower - hit without), which keeps the queries both models find easy or hard
out of the noise. The binomial standard error of each recall alone, sqrt(p (1 - p) / n), is
given beside it for reference; it ignores the pairing, so it is the larger, unpaired view.

    gain = comparison.paired_difference(ranks_a < 10, ranks_b < 10)
    gain.difference, gain.std, gain.interval   # mean(a - b), its bootstrap std, 95% interval
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Difference:
  difference: float  # mean(a) - mean(b) over the queries
  n: int  # queries
  std: float  # paired bootstrap standard deviation of the difference
  interval: tuple[float, float]  # paired bootstrap 95% percentile interval
  binomial_std: tuple[float, float]  # sqrt(p (1 - p) / n) of a's and of b's mean, alone

  def describe(self) -> str:
    """e.g. '+0.033 (n=30; paired bootstrap std 0.030, 95% interval [-0.033, +0.100])'."""
    if not self.n:
      return "no queries"
    lo, hi = self.interval
    return (f"{self.difference:+.3f} (n={self.n}; paired bootstrap std {self.std:.3f}, "
            f"95% interval [{lo:+.3f}, {hi:+.3f}]; each recall's binomial std "
            f"{self.binomial_std[0]:.3f} / {self.binomial_std[1]:.3f})")


def paired_difference(a: np.ndarray, b: np.ndarray, resamples: int = 2000,
                      seed: int = 0) -> Difference:
  """mean(a) - mean(b) for per-query values of two models on the same queries, with its noise.

  Args:
    a, b: one value per query, in the same query order (hits as 0/1, or NDCGs).
    resamples: bootstrap resamples of the queries.
    seed: the resampling's seed (the figure is repeatable run to run).

  Raises:
    ValueError: a and b differ in length (they must score the same queries).
  """
  a = np.asarray(a, dtype=np.float64)
  b = np.asarray(b, dtype=np.float64)
  if a.shape != b.shape or a.ndim != 1:
    raise ValueError(f"paired values need one value per query from each model, in the same "
                     f"order; got shapes {a.shape} and {b.shape}")
  n = len(a)
  if n == 0:
    nan = float("nan")
    return Difference(nan, 0, nan, (nan, nan), (nan, nan))
  diff = a - b
  rng = np.random.default_rng(seed)
  means = diff[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
  lo, hi = np.percentile(means, [2.5, 97.5])
  binomial = tuple(float(np.sqrt(p * (1 - p) / n)) for p in (a.mean(), b.mean()))
  return Difference(float(diff.mean()), n, float(means.std()), (float(lo), float(hi)), binomial)
