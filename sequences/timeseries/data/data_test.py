"""`data.load`: the source in the config picks the module; a source without its path says which flag."""

import ml_collections
import pytest

from sequences.timeseries import data


def _data_config(**fields):
  return ml_collections.ConfigDict({"source": "ett", "name": "ETTh1", "path": "", **fields})


def test_each_source_reads_its_file(tmp_path):
  (tmp_path / "demand.csv").write_text("date,toys,books\n2020-01-01,3,4\n2020-01-02,5,6\n")
  (tmp_path / "own.csv").write_text("timestamp,a\n2020-01-01 00:00,1\n2020-01-01 01:00,2\n")
  demand = data.load(_data_config(source="demand", path=str(tmp_path)))
  assert (demand.name, demand.columns) == ("shopworld_demand", ("toys", "books"))
  assert demand.fingerprint.startswith("shopworld:")
  own = data.load(_data_config(source="csv", path=str(tmp_path / "own.csv")))
  assert (own.name, len(own), own.fingerprint[:4]) == ("own", 2, "csv:")
  by_path = data.load(_data_config(path=str(tmp_path / "own.csv")))  # source=ett, an ETT-format file
  assert by_path.name == "own.csv"


def test_missing_demand_file_says_how_to_make_it(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"demand\.csv does not exist; write a shop world"):
    data.load(_data_config(source="demand", path=str(tmp_path)))


@pytest.mark.parametrize("fields,message", [
    ({"source": "csv"}, "data.source=csv needs --config.data.path"),
    ({"source": "demand"}, "data.source=demand needs --config.data.path"),
    ({"source": "parquet"}, "unknown data.source 'parquet'; choose one of ett, csv, demand"),
])
def test_bad_data_configs_name_the_fix(fields, message):
  with pytest.raises(ValueError, match=message):
    data.load(_data_config(**fields))
