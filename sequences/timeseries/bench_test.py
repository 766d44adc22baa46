"""The bench's run settings, --set overrides and the validation table (no training)."""

import pytest

from sequences.timeseries import bench


def test_overrides_parse_numbers_and_keep_strings():
  assert bench.parse_overrides(["lookback=720", "learning_rate=1e-3", "arch.dropout=0.2",
                                "baseline=LastValue"]) == {
      "lookback": 720, "learning_rate": 1e-3, "arch.dropout": 0.2, "baseline": "LastValue"}
  with pytest.raises(Exception, match="key=value"):
    bench.parse_overrides(["lookback"])


def test_overrides_apply_on_top_of_the_run_settings():
  config = bench.bench_config("Linear-L512", "ETTh2", 192, quick=False,
                              overrides={"learning_rate": 1e-3, "arch.dropout": 0.3})
  assert (config.model, config.lookback, config.horizon, config.data.name) == (
      "Linear", 512, 192, "ETTh2")
  assert config.learning_rate == 1e-3 and config.arch.dropout == 0.3
  assert bench.run_label("Linear-L512", {"learning_rate": 1e-3}) == "Linear-L512[learning_rate=0.001]"


def test_an_unknown_override_is_an_error():
  with pytest.raises(KeyError, match="lookback"):  # the locked config suggests the right name
    bench.bench_config("Linear", "ETTh1", 96, quick=False, overrides={"lookbak": 720})


def test_every_setting_builds_a_config():
  for name in bench.SETTINGS:
    bench.bench_config(name, "ETTh1", 96, quick=False)


def test_validation_table_sorts_by_validation_mse():
  rows = [{"dataset": "ETTh1", "horizon": 96, "model": m, "val_mse": v, "val_mae": 0.5,
           "epochs": 3} for m, v in (("A", 0.70), ("B", 0.66))]
  lines = bench.validation_table(rows).splitlines()
  assert lines[0] == bench.VAL_HEADER
  assert [line.split("|")[3].strip() for line in lines[2:]] == ["B", "A"]


def test_ensemble_members_are_trained_as_their_bench_rows():
  members = bench.expand_members(bench.parse_members("Linear-L512;Linear-L512[seed=1];PatchTST"))
  patchtst = {"model": "PatchTST", "learning_rate": 1e-3, "lr_decay": 0.8, "batch_size": 64,
              "epochs": 4, "early_stopping_patience": 2, "arch": {"dropout": 0.2},
              "lookback": 336}
  assert members.to_dict() == {"m0_linear_l512": {"model": "Linear", "lookback": 512},
                               "m1_linear_l512": {"model": "Linear", "lookback": 512, "seed": 1},
                               "m2_patchtst": patchtst}
  name = next(n for n, s in bench.SETTINGS.items() if s.get("model", n) == "Ensemble")
  config = bench.bench_config(name, "ETTh1", 96, quick=False, members="Linear;DLinear-L512[seed=2]")
  assert config.model == "Ensemble" and config.lookback == 512  # reads its longest member's rows
  # Linear keeps its row's look-back of 336 rather than inheriting the ensemble's 512.
  assert config.ensemble.members.to_dict() == {
      "m0_linear": {"model": "Linear", "lookback": 336},
      "m1_dlinear_l512": {"model": "DLinear", "lookback": 512, "seed": 2}}
  with pytest.raises(Exception, match="applies to ensemble runs"):
    bench.bench_config("Linear", "ETTh1", 96, quick=False, members="Linear")
  with pytest.raises(Exception, match="itself an ensemble"):
    bench.expand_members([name])
  with pytest.raises(Exception, match="'Linaer' is not a bench row"):
    bench.expand_members(["Linaer"])
  with pytest.raises(Exception, match="is not `Row` or"):
    bench.parse_members("Linear(seed=1)")
  with pytest.raises(Exception, match="key=value"):
    bench.parse_members("Linear[seed]")


def test_run_labels_become_directory_names():
  assert bench._slug("Ensemble(Linear-L512;Linear-L512[seed=1])") == (
      "Ensemble_Linear-L512_Linear-L512_seed=1_")
  long = bench._slug("Ensemble(" + ";".join(["PatchTST[seed=1]"] * 20) + ")")
  assert len(long) <= 100
