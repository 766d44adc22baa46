"""The served rating table: the blend materialised for every pair, its store, and config errors.

A tiny rank-2 rating matrix (30 users x 40 items, 70% observed), GLocal-K with 16 hidden units and
2 + 2 epochs: enough to check the protocol and the plumbing, not quality.
"""

import numpy as np
import pytest

from recsys.configs import default
from recsys.data.interactions import Interactions
from recsys.rating import blend, glocal_k, members, served

_TINY = glocal_k.Config(hidden=16, pretrain_epochs=2, finetune_epochs=2, lambda_2=0.5)


def _ratings(num_users=30, num_items=40, seed=0):
  rng = np.random.default_rng(seed)
  p, q = rng.normal(size=(num_users, 2)), rng.normal(size=(num_items, 2))
  r = np.clip(np.rint(3 + 0.9 * p @ q.T), 1, 5)
  u, i = np.meshgrid(np.arange(num_users), np.arange(num_items), indexing="ij")
  keep = rng.random(u.size) < 0.7
  ids = lambda x: np.array([str(k + 1) for k in x], dtype=object)  # noqa: E731  numeric, as MovieLens'
  table = Interactions(ids(u.ravel()[keep]), ids(i.ravel()[keep]), np.zeros(keep.sum(), np.int64),
                       r.ravel()[keep].astype(np.float32))
  return table, ids(np.arange(num_items))


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
  base, items = _ratings()
  cache = str(tmp_path_factory.mktemp("fits"))
  users = members.matrix_users(base.user_id)
  return base, served.fit(base, users, items, seeds=2, glocal=_TINY, cache_dir=cache), cache


def test_users_are_in_numeric_order_as_the_global_kernel_expects():
  assert members.matrix_users(np.array(["10", "2", "1", "2"])).tolist() == ["1", "2", "10"]
  assert members.matrix_users(np.array(["b", "a"])).tolist() == ["a", "b"]


def test_the_table_is_the_blend_of_the_members_for_every_pair(fitted):
  base, s, _ = fitted
  assert s.predictions.shape == (30, 40) and s.predictions.dtype == np.float32
  assert set(s.members) == set(s.validation_rmse) & set(s.members)  # every member was validated
  glocal = [n for n in s.members if members.is_glocal_k(n)]
  assert len(glocal) == 2 and s.blend.names == ("GLocal-K mean", members.MF, members.BIASES)
  inputs = {"GLocal-K mean": np.mean([s.members[n] for n in glocal], axis=0).ravel(),
            members.MF: s.members[members.MF].ravel(), members.BIASES: s.members[members.BIASES].ravel()}
  np.testing.assert_allclose(s.predictions.ravel(), s.blend.predict(inputs), rtol=1e-6)
  assert (s.predictions >= 1).all() and (s.predictions <= 5).all()
  # The weights were fitted on the 5% validation slice, by members fitted without it.
  assert 0 < s.validation_ratings < 0.1 * len(base)
  assert {"mean of GLocal-K seeds 0-1", "blend (in-sample: its weights were fitted here)"} <= set(s.validation_rmse)


def test_lookup_reads_the_table_and_says_which_pairs_are_outside_it(fitted):
  _, s, _ = fitted
  pred, known = s.lookup(np.array(["1", "30", "999"]), np.array(["40", "1", "1"]))
  assert known.tolist() == [True, True, False]
  np.testing.assert_array_equal(pred[:2], [s.predictions[0, 39], s.predictions[29, 0]])


def test_a_rerun_reuses_the_cached_member_fits(fitted):
  base, s, cache = fitted
  again = served.fit(base, s.users, s.items, seeds=2, glocal=_TINY, cache_dir=cache)
  np.testing.assert_array_equal(again.predictions, s.predictions)
  assert again.seconds == s.seconds  # read from the cache, not refitted


@pytest.mark.parametrize("where", ["ram", "local"])
def test_save_and_load_round_trip_on_any_file_system(fitted, where, tmp_path):
  _, s, _ = fitted
  workdir = "ram://served_test/run" if where == "ram" else str(tmp_path)
  s.save(workdir)
  back = served.load(workdir)
  np.testing.assert_array_equal(back.predictions, s.predictions)
  assert back.users.tolist() == s.users.tolist() and back.items.tolist() == s.items.tolist()
  assert back.blend.names == s.blend.names and back.validation_rmse == s.validation_rmse
  np.testing.assert_allclose(back.blend.weights, s.blend.weights)


def test_rating_metrics_use_the_fallback_outside_the_matrix(fitted):
  _, s, _ = fitted
  rows = Interactions(np.array(["1", "nobody"], object), np.array(["1", "1"], object),
                      np.zeros(2, np.int64), np.array([s.predictions[0, 0], 3.0], np.float32))
  m = served.rating_metrics(s, rows, fallback=np.array([0.0, 4.0]))
  assert m["matrix_share"] == 0.5
  assert m["rmse"] == pytest.approx(np.sqrt(0.5)) and m["mae"] == pytest.approx(0.5)


def test_a_missing_table_says_how_to_finish_the_run(tmp_path):
  with pytest.raises(FileNotFoundError, match="rerun `bazel run //recsys:train` with the same --workdir"):
    served.load(str(tmp_path))


def _config(**changes):
  cfg = default.get_config()
  cfg.rating_blend.glocal_k_seeds = 3
  for key, value in changes.items():
    section, field = key.split("__")
    getattr(cfg, section)[field] = value
  return cfg


@pytest.mark.parametrize("changes, has_ratings, message", [
    ({}, False, "has no explicit ratings; set --config.rating_blend.glocal_k_seeds=0"),
    ({"rating_blend__glocal_k_seeds": -1}, True, "is negative"),
    ({"model__rating_weight": 0.0}, True, "set --config.model.rating_weight above 0"),
    ({"rating_blend__validation_fraction": 1.0}, True, "must be between 0 and 1"),
])
def test_config_errors_name_the_field_and_the_fix(changes, has_ratings, message):
  with pytest.raises(ValueError, match=message):
    served.check_config(_config(**changes), has_ratings)


def test_off_by_default_and_the_defaults_are_glocal_ks():
  cfg = default.get_config()
  assert cfg.rating_blend.glocal_k_seeds == 0
  served.check_config(cfg, has_ratings=False)  # off: nothing to check
  c = served.glocal_config(cfg)
  assert c == glocal_k.Config()  # the config's numbers are the paper's, epochs chosen on validation


def test_at_least_one_seed():
  with pytest.raises(ValueError, match="at least one GLocal-K seed"):
    members.rating_members(np.array(["1"]), np.array(["1"]), seeds=0)


def test_blend_inputs_average_the_seeds():
  preds = {"GLocal-K seed 0 (x)": np.array([1.0, 3.0]), "GLocal-K seed 1 (x)": np.array([3.0, 5.0]),
           members.MF: np.array([2.0, 2.0])}
  out = served._inputs(preds, ["GLocal-K seed 0 (x)", "GLocal-K seed 1 (x)"])
  np.testing.assert_array_equal(out["GLocal-K mean"], [2.0, 4.0])  # (1+3)/2, (3+5)/2
  assert list(out) == ["GLocal-K mean", members.MF]
  assert isinstance(blend.Blend.fit(out, np.array([2.0, 4.0])), blend.Blend)
