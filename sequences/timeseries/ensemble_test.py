"""Ensemble members as text and the member configs built from them (training: train_test.py)."""

import pytest

from sequences.timeseries import ensemble
from sequences.timeseries.configs import default


def test_members_parse_and_format_back():
  text = "Linear[lookback=512,seed=1];DLinear ; PatchTST[arch.dropout=0.2,learning_rate=1e-3]"
  members = ensemble.parse_members(text)
  assert members == [("Linear", {"lookback": 512, "seed": 1}), ("DLinear", {}),
                     ("PatchTST", {"arch.dropout": 0.2, "learning_rate": 1e-3})]
  assert ensemble.parse_members(";".join(ensemble.format_member(*m) for m in members)) == members


@pytest.mark.parametrize("text,message", [
    ("", "needs members"),
    (" ; ", "needs members"),
    ("Linear(seed=1)", "is not `Model`"),
    ("Linear[seed]", "key=value"),
])
def test_malformed_members_say_how_to_write_them(text, message):
  with pytest.raises(ValueError, match=message):
    ensemble.parse_members(text)


def _ensemble_config(members: str, lookback: int = 512):
  config = default.get_config()
  config.model = "Ensemble"
  config.lookback = lookback
  config.ensemble_members = members
  return config


def test_member_configs_inherit_the_ensemble_and_apply_overrides():
  config = _ensemble_config("Linear[lookback=336,seed=3];DLinear[arch.kernel_size=13]")
  config.learning_rate = 1e-3
  first, second = ensemble.member_configs(config)
  assert (first.model, first.lookback, first.seed, first.learning_rate) == ("Linear", 336, 3, 1e-3)
  assert (second.model, second.lookback, second.arch.kernel_size) == ("DLinear", 512, 13)
  assert first.ensemble_members == "" and config.model == "Ensemble"  # the ensemble is unchanged


@pytest.mark.parametrize("members,message", [
    ("Linear[lookback=720]", "at least 720"),
    ("Linear[horizon=192]", "may not change 'horizon'"),
    ("Linear[data.name=ETTh2]", "may not change 'data'"),
    ("Ensemble", "unknown model"),
    ("Linear[lookbak=336]", "lookback"),  # the locked config names the right field
])
def test_bad_members_are_errors_that_name_the_fix(members, message):
  with pytest.raises((ValueError, KeyError, AttributeError), match=message):
    ensemble.member_configs(_ensemble_config(members))
