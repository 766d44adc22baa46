"""`bazel run //sequences/timeseries:bench -- --datasets=<file>` on synthetic 15-minute and daily
ETT-format files: the ETT borders and the seasonal-naive period come from the data's frequency.

Each file's first channel repeats exactly every day (15-minute file) or every week (daily file),
so a seasonal-naive forecast with the right period is exact: MSE 0 proves the period was used.
"""

import json

import numpy as np
import pytest
from absl import flags

from sequences.timeseries import bench


def _write(path, start, step, rows, period):
  t = np.arange(rows)
  stamps = np.datetime64(start) + t * np.timedelta64(*step)
  season = np.round(np.sin(2 * np.pi * (t % period) / period) * 10, 3)
  trend = np.round(t / rows, 5)
  with open(path, "w") as f:
    f.write("date,HUFL,OT\n")
    for stamp, a, b in zip(stamps, season, season + trend, strict=True):
      f.write(f"{str(stamp).replace('T', ' ')},{a},{b}\n")
  return path


def _bench(capsys, path, workdir, *args):
  flags.FLAGS(["bench", f"--datasets={path}", "--models=SeasonalNaive,Linear",
               f"--workdir={workdir}", *args])
  try:
    bench.main([])
  finally:
    flags.FLAGS.unparse_flags()
  return capsys.readouterr().out


def _seasonal_naive(workdir):
  (run_dir,) = workdir.glob("*SeasonalNaive*")
  config = json.loads((run_dir / "config.json").read_text())
  result = json.loads((run_dir / "result.json").read_text())
  return config, result["metrics"]["test"]["model"]


def test_fifteen_minute_file_gets_ettm_borders_and_a_one_day_season(tmp_path, capsys):
  path = _write(tmp_path / "minutes.csv", "2016-07-01T00:00", (15, "m"), 57_700, period=96)
  out = _bench(capsys, path, tmp_path / "run", "--horizons=96",
               "--set=epochs=1,data.stride=64")
  assert ("minutes.csv: 15min data, 57700 rows; ETT split (targets) train [0, 34560) validation "
          "[34560, 46080) test [46080, 57600); seasonal-naive period 96 rows (one day)") in out
  config, test = _seasonal_naive(tmp_path / "run")
  assert (config["data"]["frequency"], config["arch"]["season"]) == ("15min", 96)
  assert test["mse"] == pytest.approx(0.0, abs=1e-4)  # a period of 24 rows would be far off
  assert "| minutes.csv | 96 | Linear[epochs=1,data.stride=64] |" in out


def test_daily_file_gets_daily_borders_and_a_weekly_season(tmp_path, capsys):
  path = _write(tmp_path / "days.csv", "2015-01-01", (1, "D"), 640, period=7)
  out = _bench(capsys, path, tmp_path / "run", "--horizons=14", "--set=epochs=1,lookback=28")
  assert ("days.csv: daily data, 640 rows; ETT split (targets) train [0, 360) validation "
          "[360, 480) test [480, 600); seasonal-naive period 7 rows (one week)") in out
  config, test = _seasonal_naive(tmp_path / "run")
  assert (config["data"]["frequency"], config["arch"]["season"]) == ("daily", 7)
  assert test["mse"] == pytest.approx(0.0, abs=1e-3)


def test_an_irregular_file_is_refused_naming_its_lines(tmp_path, capsys):
  path = _write(tmp_path / "gappy.csv", "2015-01-01", (1, "D"), 640, period=7)
  lines = path.read_text().splitlines(keepends=True)
  path.write_text("".join(lines[:100] + lines[101:]))  # line 101 (2015-04-10) dropped
  with pytest.raises(ValueError, match=r"gappy\.csv: rows are not evenly spaced.*line 101 "
                     r"\(2015-04-11.*is 2 days after line 100"):
    _bench(capsys, path, tmp_path / "run", "--horizons=14")
