"""Users: tastes over categories that drift, an activity level, a region and a rating bias.

A taste is a probability vector over categories drawn from a sparse Dirichlet, so most users
care about two or three categories, nudged by their region's preferences. Over a user's life the
taste moves linearly from `taste_start` to `taste_end` (drift), so recent behaviour predicts
better than old behaviour. Activity is log-normal: a few heavy users, many light ones.
"""

import dataclasses

import numpy as np

REGIONS = ("north", "south", "east", "west")


@dataclasses.dataclass
class UserTruth:
  """Per-user ground truth (index u is user u)."""
  taste_start: np.ndarray   # [n, c] category preferences at sign-up
  taste_end: np.ndarray     # [n, c] preferences at the end of the world's time span
  activity: np.ndarray      # expected number of interactions
  rating_bias: np.ndarray   # added to every rating the user gives
  region_prior: np.ndarray  # [regions, c] what each region leans towards

  def taste_at(self, user: int, fraction: float) -> np.ndarray:
    """The user's taste `fraction` (0..1) of the way from sign-up to the end."""
    return (1.0 - fraction) * self.taste_start[user] + fraction * self.taste_end[user]


@dataclasses.dataclass
class Users:
  user_id: np.ndarray       # str, "user_00007"
  signup_day: np.ndarray    # int, day index of sign-up
  region: np.ndarray        # int, index into REGIONS

  def __len__(self) -> int:
    return len(self.user_id)


def sample_users(rng: np.random.Generator, num_users: int, num_categories: int, num_days: int,
                 mean_events: float) -> tuple[Users, UserTruth]:
  """Draws users and their hidden tastes."""
  region_prior = rng.dirichlet(np.full(num_categories, 1.0), size=len(REGIONS))
  region = rng.integers(0, len(REGIONS), num_users)
  concentration = 0.25 + 1.0 * region_prior[region]
  taste_start = np.array([rng.dirichlet(a) for a in concentration])
  drift = rng.uniform(0.0, 0.6, num_users)[:, None]
  taste_end = (1 - drift) * taste_start + drift * rng.dirichlet(
      np.full(num_categories, 0.3), size=num_users)
  activity = mean_events * rng.lognormal(-0.5, 1.0, num_users)
  # Half the users exist from day 0; the rest join over the first 80% of the time span.
  signup_day = np.where(rng.random(num_users) < 0.5, 0,
                        rng.integers(0, max(int(num_days * 0.8), 1), num_users))
  user_id = np.array([f"user_{u:05d}" for u in range(num_users)])
  users = Users(user_id=user_id, signup_day=signup_day, region=region)
  truth = UserTruth(taste_start=taste_start, taste_end=taste_end, activity=activity,
                    rating_bias=rng.normal(0, 0.3, num_users), region_prior=region_prior)
  return users, truth
