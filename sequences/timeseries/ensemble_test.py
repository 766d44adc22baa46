"""Ensemble members as config code and the member configs built from them (training: train_test.py)."""

import ml_collections
import pytest
from absl import flags

from common import config as config_lib
from sequences.timeseries import bench, ensemble, train
from sequences.timeseries.configs import default
from sequences.timeseries.configs import ensemble as ensemble_config


def _ensemble_config(members: dict, lookback: int = 512):
  config = default.get_config()
  config.model = "Ensemble"
  config.lookback = lookback
  config.ensemble.members = ml_collections.ConfigDict(members)
  return config


def test_member_configs_inherit_the_ensemble_and_apply_their_fields():
  config = _ensemble_config({
      "a": {"model": "Linear", "lookback": 336, "seed": 3},
      "b": {"model": "DLinear", "arch": {"kernel_size": 13}}})
  config.learning_rate = 1e-3
  first, second = ensemble.member_configs(config)
  assert (first.model, first.lookback, first.seed, first.learning_rate) == ("Linear", 336, 3, 1e-3)
  assert (second.model, second.lookback, second.arch.kernel_size) == ("DLinear", 512, 13)
  assert second.arch.dropout == config.arch.dropout  # the rest of the group is the ensemble's
  assert not first.ensemble.members and config.model == "Ensemble"  # the ensemble is unchanged


def test_members_survive_the_saved_config(tmp_path):
  # A run saves its config as JSON; the members read back from it build the same configs.
  config = ensemble_config.get_config()
  config_lib.save(config, str(tmp_path))
  again = config_lib.read_saved(str(tmp_path))
  assert ([m.to_dict() for m in ensemble.member_configs(again)]
          == [m.to_dict() for m in ensemble.member_configs(config)])


@pytest.mark.parametrize("members,message", [
    ({}, "model=Ensemble needs members"),
    ({"a": {"model": "Linear", "lookback": 720}}, "at least 720"),
    ({"a": {"model": "Linear", "horizon": 192}}, "may not change 'horizon'"),
    ({"a": {"model": "Linear", "data": {"name": "ETTh2"}}}, "may not change 'data'"),
    ({"a": {"model": "Ensemble"}}, "'Ensemble' is not a model"),
    ({"a": {"model": "Linera"}}, r"'a': model 'Linera' is not a model; set its 'model' to one of"),
    ({"a": {"seed": 1}}, "model None is not a model"),
    ({"a": {"model": "Linear", "lookbak": 336}}, "'lookbak' is not a config field; did you mean "
                                                 "'lookback'"),
    ({"a": {"model": "Linear", "arch": {"dropuot": 0.1}}}, "'arch.dropuot' is not a config field"),
    ({"a": {"model": "Linear", "arch": 3}}, "'arch' is a group of fields"),
    ({"a": {"model": "Linear", "seed": "one"}}, "seed='one' has the wrong type"),
])
def test_bad_members_are_errors_that_name_the_member_and_the_fix(members, message):
  with pytest.raises(ValueError, match=message):
    ensemble.member_configs(_ensemble_config(members))


def test_the_ensemble_config_is_the_bench_ensemble_row():
  # configs/ensemble.py trains the members the bench's Ensemble row measured (README's figure).
  def member_dirs(config):
    return {train.member_dir("root", m) for m in ensemble.member_configs(config)}

  assert member_dirs(ensemble_config.get_config()) == member_dirs(
      bench.bench_config("Ensemble", "ETTh1", 96, quick=False))


def test_a_member_field_is_overridden_on_the_command_line():
  argv = ["train", "--config=sequences/timeseries/configs/ensemble.py",
          "--config.ensemble.members.gru.epochs=2"]
  flag_values = flags.FlagValues()
  holder = config_lib.DEFINE_config_file("config", default="sequences/timeseries/configs/default.py",
                                         flag_values=flag_values, sys_argv=argv)
  flag_values(argv)
  config = config_lib.resolve(holder.value, print_fn=lambda _: None)
  epochs = {m.model: m.epochs for m in ensemble.member_configs(config)}
  assert epochs == {"DLinear": 10, "GRU": 2, "Linear": 10}
