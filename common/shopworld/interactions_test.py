"""interactions: behaviour follows the ground truth (tastes, drift, related items, popularity)."""

import calendar

import numpy as np
import pytest

from common.shopworld import world


@pytest.fixture(scope="module")
def tiny():
  w = world.generate(seed=0, size="tiny")
  x, truth, category = w.interactions, w.truth, w.items.category
  start = calendar.timegm(world.START_DATE.timetuple())
  day = (x.timestamp - start) // 86400
  signup = w.users.signup_day[x.user]
  fraction = (day - signup) / np.maximum(len(w.dates) - signup, 1)
  taste = np.array([truth.users.taste_at(u, f)[category[i]]
                    for u, i, f in zip(x.user, x.item, fraction, strict=True)])
  return w, fraction, taste


def test_users_buy_what_they_like(tiny):
  w, _, taste = tiny
  # A category drawn uniformly would have mean taste 1/10; ours is about 0.22.
  assert taste.mean() > 1.8 / len(w.categories)


def test_ratings_follow_taste(tiny):
  w, _, taste = tiny
  assert np.corrcoef(w.interactions.rating, taste)[0, 1] > 0.3
  assert set(np.unique(w.interactions.rating)) <= {1, 2, 3, 4, 5}


def test_tastes_drift_towards_taste_end(tiny):
  w, fraction, _ = tiny
  x, users = w.interactions, w.truth.users
  c = w.items.category[x.item]
  toward_end = users.taste_end[x.user, c] - users.taste_start[x.user, c]
  # Late events lean towards the end taste more than early ones (about 0.035 apart).
  assert toward_end[fraction > 2 / 3].mean() - toward_end[fraction < 1 / 3].mean() > 0.015


def test_next_item_depends_on_the_previous_one(tiny):
  w, _, _ = tiny
  x, related, category = w.interactions, w.truth.items.related, w.items.category
  order = np.lexsort((x.timestamp, x.user))
  user, item = x.user[order], x.item[order]
  same_user = user[1:] == user[:-1]
  prev, nxt = item[:-1][same_user], item[1:][same_user]
  follows_related = np.mean([n in related[p] for p, n in zip(prev, nxt, strict=True)])
  chance = related.shape[1] / len(w.items)
  assert follows_related > 10 * chance  # about 0.30 against 0.013
  assert np.mean(category[prev] == category[nxt]) > 0.4


def test_popularity_is_long_tailed(tiny):
  w, _, _ = tiny
  counts = np.sort(np.bincount(w.interactions.item, minlength=len(w.items)))[::-1]
  assert counts[: len(counts) // 10].sum() / counts.sum() > 0.25  # uniform would give 0.10
  top = np.argsort(w.truth.items.popularity)[::-1][:30]
  bottom = np.argsort(w.truth.items.popularity)[:30]
  assert counts.sum() and np.bincount(w.interactions.item, minlength=len(w.items))[top].sum() > \
      3 * np.bincount(w.interactions.item, minlength=len(w.items))[bottom].sum()


def test_every_user_acts_after_signup_in_order(tiny):
  w, fraction, _ = tiny
  assert (fraction >= 0).all() and (fraction <= 1).all()
  assert len(np.unique(w.interactions.user)) > 0.95 * len(w.users)
