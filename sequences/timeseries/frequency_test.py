"""Frequencies from timestamps: the ETT borders and the season follow them; mismatches are errors."""

import numpy as np
import pytest

from sequences.timeseries import frequency, input_pipeline
from sequences.timeseries.configs import default
from sequences.timeseries.data import Series


def _stamps(start, step, n):
  return np.datetime64(start) + np.arange(n) * np.timedelta64(*step)


@pytest.mark.parametrize("step,name,season,month", [
    ((15, "m"), "15min", 96, 2880), ((1, "h"), "hourly", 24, 720), ((1, "D"), "daily", 7, 30),
    ((10, "m"), "10min", 144, 4320)])
def test_known_steps_give_name_season_and_month(step, name, season, month):
  freq = frequency.infer(_stamps("2016-07-01T00:00", step, 50), "x.csv")
  assert (freq.name, freq.season, freq.rows_per_month) == (name, season, month)
  assert frequency.from_name(name) == freq


def test_a_gap_names_the_file_the_lines_and_the_fix():
  stamps = np.delete(_stamps("2016-07-01T00:00", (1, "h"), 50), 10)  # 10:00 is missing
  with pytest.raises(ValueError, match=r"load\.csv: rows are not evenly spaced: most are 1 hour "
                     r"apart, but line 12 \(2016-07-01T11:00:00\) is 2 hours after line 11 "
                     r"\(2016-07-01T09:00:00\).*Fill the missing time steps"):
    frequency.infer(stamps, "load.csv")


def test_steps_without_a_protocol_and_bad_names_are_errors():
  with pytest.raises(ValueError, match=r"w\.csv: rows are 7 days apart.*Resample"):
    frequency.infer(_stamps("2020-01-01", (7, "D"), 10), "w.csv")
  with pytest.raises(ValueError, match=r"7 minutes apart"):
    frequency.infer(_stamps("2020-01-01T00:00", (7, "m"), 10), "m.csv")
  with pytest.raises(ValueError, match="at least two"):
    frequency.infer(_stamps("2020-01-01", (1, "D"), 1), "one.csv")
  with pytest.raises(ValueError, match=r"data.frequency='weekly' is not a frequency.*15min"):
    frequency.from_name("weekly")


def _series(name, step, n, source=""):
  t = np.arange(n)
  values = np.stack([np.sin(2 * np.pi * t / 96), np.cos(2 * np.pi * t / 7)], 1).astype(np.float32)
  return Series(name=name, timestamps=_stamps("2016-07-01T00:00", step, n),
                columns=("a", "OT"), values=values, source=source)


def _config(**data):
  config = default.get_config()
  config.data.source = "csv"
  for key, value in data.items():
    config.data[key] = value
  return config


def test_ett_split_and_season_follow_the_data():
  minute = _series("mine", (15, "m"), 57_700, "mine.csv")
  data = input_pipeline.prepare(_config(), series=minute)
  assert (data.borders.end["train"], data.borders.target_start["validation"],
          data.borders.end["validation"], data.borders.end["test"]) == (34_560, 34_560, 46_080, 57_600)
  resolved = input_pipeline.resolve(_config(), minute)
  assert (resolved.data.frequency, resolved.arch.season) == ("15min", 96)
  daily = _series("d", (1, "D"), 650)
  config = _config()
  config.lookback, config.horizon = 28, 14
  assert input_pipeline.prepare(config, series=daily).borders.end == {
      "train": 360, "validation": 480, "test": 600}
  assert input_pipeline.resolve(config, daily).arch.season == 7
  # An explicit season stays; a fraction split without a season or a named frequency needs none.
  config.arch.season, config.data.split = 5, "fraction"
  weekly = Series("w", _stamps("2020-01-01", (7, "D"), 650), ("a",),
                  np.zeros((650, 1), np.float32))
  assert input_pipeline.resolve(config, weekly).arch.season == 5


def test_a_named_frequency_that_is_not_the_datas_is_an_error():
  minute = _series("mine", (15, "m"), 57_700, "/data/mine.csv")
  with pytest.raises(ValueError, match=r"/data/mine\.csv holds 15min data \(rows 15 minutes "
                     r"apart\), but data\.frequency=hourly.*--config\.data\.frequency=15min"):
    input_pipeline.prepare(_config(frequency="hourly"), series=minute)
  with pytest.raises(ValueError, match=r"data\.frequency=daily"):  # on the fraction split too
    input_pipeline.prepare(_config(frequency="daily", split="fraction"), series=minute)
  renamed = _series("ETTh1", (15, "m"), 57_700, "/data/ETTh1.csv")
  with pytest.raises(ValueError, match=r"ETTh1 names an ETT file of hourly data"):
    input_pipeline.prepare(_config(), series=renamed)


def test_too_short_for_the_ett_split_says_how_many_rows():
  with pytest.raises(ValueError, match=r"needs 57600 rows \(20 months of 2880\); mine \(15min\) "
                     r"has 1000.*split=fraction"):
    input_pipeline.prepare(_config(), series=_series("mine", (15, "m"), 1000))


def test_the_csv_route_refuses_a_frequency_mismatch_naming_the_file(tmp_path):
  path = tmp_path / "meter.csv"
  stamps = _stamps("2016-07-01T00:00", (15, "m"), 200)
  path.write_text("date,a,OT\n" + "".join(f"{str(t).replace('T', ' ')},{i % 7},{i % 5}\n"
                                          for i, t in enumerate(stamps)))
  with pytest.raises(ValueError, match=rf"{path} holds 15min data.*data\.frequency=hourly"):
    input_pipeline.prepare(_config(path=str(path), frequency="hourly"))
  with pytest.raises(ValueError, match=r"needs 57600 rows \(20 months of 2880\)"):  # 15-min months
    input_pipeline.prepare(_config(path=str(path)))
