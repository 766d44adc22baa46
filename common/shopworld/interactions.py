"""Time-stamped interactions and ratings, driven by taste, popularity, season and recent items.

Each user visits in sessions (a few events minutes apart, sessions days apart). The next item is
drawn by one of three mechanisms, which give sequence models something to learn:
  * with probability `p_related`, an item "bought together" with the previous one (catalog truth);
  * with probability `p_same_category`, another item of the previous item's category;
  * otherwise a category from the user's taste at that time (drifting) times the category's
    seasonal demand that day, then an item of that category by (long-tailed) popularity among
    the items already released.
A user never interacts with the same item twice (as in MovieLens). The rating is
3.2 + 0.9·tanh(log(taste·#categories)) + item quality + user bias + noise, rounded to 1..5, so
ratings follow tastes.
"""

import dataclasses

import numpy as np

from common.shopworld.catalog import ItemTruth
from common.shopworld.users import Users, UserTruth

SECONDS_PER_DAY = 86_400


@dataclasses.dataclass
class Interactions:
  """The interaction log, sorted by (timestamp, user, item)."""
  user: np.ndarray       # int, index into users
  item: np.ndarray       # int, index into items
  timestamp: np.ndarray  # int64, Unix seconds (UTC)
  rating: np.ndarray     # int, 1..5

  def __len__(self) -> int:
    return len(self.user)


@dataclasses.dataclass
class BehaviourTruth:
  p_related: float = 0.35
  p_same_category: float = 0.2
  mean_session_length: float = 2.5


class _CategorySampler:
  """Draws an item of one category by popularity among items released by a given day."""

  def __init__(self, items: np.ndarray, popularity: np.ndarray, release_day: np.ndarray):
    order = np.argsort(release_day[items], kind="stable")
    self.items = items[order]
    self.release = release_day[self.items]
    self.cumulative = np.cumsum(popularity[self.items])

  def sample(self, rng: np.random.Generator, day: int) -> int | None:
    available = int(np.searchsorted(self.release, day, side="right"))
    if available == 0:
      return None
    position = np.searchsorted(self.cumulative[:available], rng.random() * self.cumulative[available - 1])
    return int(self.items[min(position, available - 1)])


def sample_interactions(rng: np.random.Generator, users: Users, user_truth: UserTruth,
                        category: np.ndarray, item_truth: ItemTruth, season: np.ndarray,
                        start_timestamp: int, behaviour: BehaviourTruth,
                        progress=None) -> Interactions:
  """Simulates every user's history.

  Args:
    rng: random stream.
    users, user_truth: who acts, with their tastes.
    category, item_truth: the catalog and its hidden properties.
    season: [num_days, num_categories] relative demand per day (from `demand.seasonal_factor`).
    start_timestamp: Unix time of day 0, 00:00 UTC.
    behaviour: the mechanism probabilities.
    progress: optional callable(n) called after each user (e.g. tqdm's update).
  """
  num_days, num_categories = season.shape
  relative_season = season / season.mean(axis=0, keepdims=True)
  samplers = [_CategorySampler(np.flatnonzero(category == c), item_truth.popularity,
                               item_truth.release_day) for c in range(num_categories)]
  out_user, out_item, out_time, out_rating = [], [], [], []
  for u in range(len(users)):
    signup = int(users.signup_day[u])
    span = num_days - signup
    n = min(max(3, int(rng.poisson(user_truth.activity[u]))), len(category) // 2)
    new_session = rng.random(n) < 1.0 / behaviour.mean_session_length
    new_session[0] = True
    session_days = np.sort(rng.integers(signup, num_days, int(new_session.sum())))
    seen: set[int] = set()
    prev, session, seconds = None, -1, 0
    for j in range(n):
      if new_session[j]:
        session += 1
        seconds = int(np.clip(rng.normal(19, 3), 0, 23) * 3600 + rng.integers(0, 3600))
        prev = None if rng.random() < 0.5 else prev  # a new visit may or may not continue
      else:
        seconds = min(seconds + int(rng.integers(30, 900)), SECONDS_PER_DAY - 1)
      day = int(session_days[session])
      item = _next_item(rng, u, day, (day - signup) / max(span, 1), prev, seen, category,
                        item_truth, user_truth, relative_season, samplers, behaviour)
      if item is None:
        continue
      seen.add(item)
      taste = user_truth.taste_at(u, (day - signup) / max(span, 1))[category[item]]
      score = (3.2 + 0.9 * np.tanh(np.log(taste * num_categories + 1e-3))
               + item_truth.quality[item] + user_truth.rating_bias[u] + rng.normal(0, 0.5))
      out_user.append(u)
      out_item.append(item)
      out_time.append(start_timestamp + day * SECONDS_PER_DAY + seconds)
      out_rating.append(int(np.clip(np.rint(score), 1, 5)))
      prev = item
    if progress is not None:
      progress(1)
  user, item = np.array(out_user, np.int64), np.array(out_item, np.int64)
  timestamp, rating = np.array(out_time, np.int64), np.array(out_rating, np.int64)
  order = np.lexsort((item, user, timestamp))
  return Interactions(user=user[order], item=item[order], timestamp=timestamp[order],
                      rating=rating[order])


def _next_item(rng, u, day, fraction, prev, seen, category, item_truth, user_truth,
               relative_season, samplers, behaviour) -> int | None:
  r = rng.random()
  if prev is not None and r < behaviour.p_related:
    candidates = [int(i) for i in item_truth.related[prev]
                  if i not in seen and item_truth.release_day[i] <= day]
    if candidates:
      return candidates[rng.integers(len(candidates))]
  if prev is not None and r < behaviour.p_related + behaviour.p_same_category:
    c = int(category[prev])
  else:
    weights = user_truth.taste_at(u, fraction) * relative_season[day]
    c = int(rng.choice(len(weights), p=weights / weights.sum()))
  for _ in range(8):  # a few tries to find an item the user has not had yet
    item = samplers[c].sample(rng, day)
    if item is not None and item not in seen:
      return item
  return None
