"""Baselines do what their names say on data small enough to check by hand."""

import numpy as np
import pytest

from recsys import baselines, tfrs_tutorial
from recsys.data.interactions import Interactions
from recsys.features import Examples


def _events(users, items, times, ratings=None):
  return Interactions(np.array(users, dtype=object), np.array(items, dtype=object), np.array(times),
                      None if ratings is None else np.array(ratings, np.float32))


def test_most_popular_decays_old_interactions():
  items = np.array(["old", "new"], dtype=object)
  # "old": 3 interactions 300 days ago; "new": 1 today. Half-life 30 days: 3 * 2^-10 < 1.
  day = 86400
  ev = _events(["u1", "u2", "u3", "u4"], ["old", "old", "old", "new"], [0, 0, 0, 300 * day])
  decayed = baselines.MostPopular(items, half_life_days=30).fit(ev)
  plain = baselines.MostPopular(items, half_life_days=None).fit(ev)
  assert decayed.scores.argmax() == 1 and plain.scores.argmax() == 0


def test_item_cooccurrence_recommends_what_others_took_together():
  items = np.array(["a", "b", "c"], dtype=object)
  ev = _events(["u1", "u1", "u2", "u2", "u3"], ["a", "b", "a", "b", "c"], [1, 2, 1, 2, 1])
  model = baselines.ItemCooccurrence(items).fit(ev)
  ex = Examples(np.array(["x"], dtype=object), np.array([["", "a"]], dtype=object),
                np.zeros((1, 2), np.int64), np.array(["b"], dtype=object), np.zeros(1, np.int64), None)
  scores = model.score(ex)[0]
  assert scores[1] > 0 and scores[2] == 0  # b co-occurs with a, c never does


@pytest.mark.parametrize("dim", [4, 0])  # 0: the "user + item biases" baseline
def test_biased_mf_fits_user_and_item_effects(dim):
  rng = np.random.default_rng(0)
  users = rng.integers(0, 30, 3000).astype(str)
  items = rng.integers(0, 20, 3000).astype(str)
  # True rating: 3 + user offset + item offset.
  r = 3 + (users.astype(int) % 3 - 1) * 0.8 + (items.astype(int) % 2) * 0.6
  ev = _events(users.astype(object), items.astype(object), np.zeros(3000, int), r)
  model = baselines.fit_biased_mf(ev, dim=dim, l2=0.001, epochs=15, batch_size=256,
                                 learning_rate=1e-2)
  rmse = float(np.sqrt(np.mean((baselines.predict_ratings(model, ev) - r) ** 2)))
  assert rmse < 0.15, rmse  # the global-mean predictor's RMSE here is about 0.7


def test_tfrs_tutorial_model_learns_who_takes_what():
  # Two groups of users: "a*" users take items a0..a4, "b*" users b0..b4, many times over.
  users = [f"{g}{u}" for g in "ab" for u in range(20) for _ in range(5)]
  items = [f"{u[0]}{i}" for u in users[::5] for i in range(5)]
  ev = _events(users, items, np.zeros(len(users), int))
  catalog = np.array([f"{g}{i}" for g in "ab" for i in range(5)], dtype=object)
  config = tfrs_tutorial.TutorialConfig(batch_size=32, epochs=30)
  model = tfrs_tutorial.TfrsTutorialRetrieval(catalog, config).fit(ev)
  ex = Examples(np.array(["a0", "b0"], dtype=object), np.full((2, 1), "", dtype=object),
                np.zeros((2, 1), np.int64), np.array(["a0", "b0"], dtype=object), np.zeros(2, np.int64),
                None)
  scores = model.score(ex)
  # Each user's own group's items outscore the other group's.
  assert scores[0, :5].min() > scores[0, 5:].max()
  assert scores[1, 5:].min() > scores[1, :5].max()


def test_tfrs_tutorial_model_refuses_an_empty_table():
  with pytest.raises(ValueError, match="needs training interactions"):
    tfrs_tutorial.TfrsTutorialRetrieval(np.array(["a"], dtype=object)).fit(_events([], [], []))


def test_tfrs_ranking_tutorial_model_fits_ratings():
  rng = np.random.default_rng(0)
  users = rng.integers(0, 30, 3000).astype(str).astype(object)
  items = rng.integers(0, 20, 3000).astype(str).astype(object)
  r = 3 + (users.astype(int) % 3 - 1) * 0.8 + (items.astype(int) % 2) * 0.6  # as in the MF test
  ev = _events(users, items, np.zeros(3000, int), r)
  model = tfrs_tutorial.fit_ranking(ev, tfrs_tutorial.TutorialConfig(batch_size=256, epochs=20))
  rmse = float(np.sqrt(np.mean((tfrs_tutorial.predict_ratings(model, ev) - r) ** 2)))
  assert rmse < 0.3, rmse  # the global-mean predictor's RMSE here is about 0.7
