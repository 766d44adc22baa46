"""The ETT files and the standard protocol on the real data (skipped without TRELLIS_DATA_DIR)."""

import os

import numpy as np
import pytest

from common.data import data_dir
from sequences.timeseries import input_pipeline
from sequences.timeseries.configs import default
from sequences.timeseries.data import ett

pytestmark = pytest.mark.skipif(
    not os.environ.get("TRELLIS_DATA_DIR"),
    reason="needs the real ETT files: set TRELLIS_DATA_DIR (make test does) to ../shared/data")


@pytest.mark.parametrize("name,first_ot,mean_ot", [("ETTh1", 30.531, 13.3247),
                                                   ("ETTh2", 38.662, 26.6094)])
def test_ett_files_match_provenance(name, first_ot, mean_ot):
  s = ett.load(None, name)
  assert s.values.shape == (17420, 7) and s.columns == ett.COLUMNS
  assert s.values[0, -1] == pytest.approx(first_ot)
  assert float(s.values[:, -1].astype(np.float64).mean()) == pytest.approx(mean_ot, abs=1e-3)
  assert np.all(np.diff(s.timestamps) == np.timedelta64(1, "h"))  # hourly, no gaps


def test_standard_protocol_windows_and_train_statistics():
  config = default.get_config()
  data = input_pipeline.prepare(config)
  # 8640 - 336 - 96 + 1 training windows; 2785 validation and test windows.
  assert [data.num_windows(s) for s in ("train", "validation", "test")] == [8209, 2785, 2785]
  train = data.series.values[:8640].astype(np.float64)
  np.testing.assert_allclose(data.scaler.mean, train.mean(axis=0), rtol=1e-5)
  np.testing.assert_allclose(data.scaled[:8640].std(axis=0), 1.0, atol=1e-4)
  history, future = input_pipeline.arrays(data, "test")
  assert history.shape == (2785, 336, 7) and future.shape == (2785, 96, 7)
  np.testing.assert_array_equal(future[-1, -1], data.scaled[14399])


def test_the_real_file_given_by_path_keeps_its_name_and_hourly_protocol():
  s = ett.load_format(data_dir.resolve(None) / "ett" / "ETTh2.csv")
  assert s.name == "ETTh2"
  config = input_pipeline.resolve(default.get_config(), s)
  assert (config.data.frequency, config.arch.season) == ("hourly", 24)
