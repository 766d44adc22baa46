"""`input_pipeline.load`: the config's data fields, their errors, and the data fingerprint."""

import shutil

import pytest

from common.shopworld import world as shopworld
from recsys import input_pipeline


@pytest.fixture(scope="module")
def world(tmp_path_factory):
  directory = tmp_path_factory.mktemp("world")
  shopworld.generate(seed=0, size="tiny").write(directory, overwrite=True)
  return directory


def test_a_shop_world_loads_with_a_fingerprint_of_what_was_read(world, tmp_path):
  data = input_pipeline.load("shopworld", "leave_last_out", 4, path=str(world))
  assert len(data.catalog) and len(data.train) and len(data.test)
  assert data.fingerprint.startswith("shopworld:")
  again = input_pipeline.load("shopworld", "leave_last_out", 4, path=str(world))
  assert again.fingerprint == data.fingerprint  # a pure function of the files and the protocol
  assert input_pipeline.load("shopworld", "temporal", 4, path=str(world)).fingerprint != data.fingerprint
  changed = tmp_path / "world"
  shutil.copytree(world, changed)
  image = next((changed / "images").rglob("*.png"))
  image.write_bytes(image.read_bytes() + b"\0")  # one picture changed, the tables not
  assert input_pipeline.load("shopworld", "leave_last_out", 4, path=str(changed)).fingerprint != data.fingerprint


@pytest.mark.parametrize("source, protocol, path, message", [
    ("netflix", "leave_last_out", "", r"unknown data.source 'netflix'; set --config.data.source to one of "
                                      "movielens, shopworld"),
    ("shopworld", "random", "x", r"unknown data.protocol 'random'; set --config.data.protocol"),
    ("shopworld", "u1", "x", r"data.protocol 'u1' is a MovieLens split; data.source is 'shopworld'"),
    ("shopworld", "leave_last_out", "", r"needs data.path.*--config.data.path=DIR"),
])
def test_bad_data_fields_name_the_field_to_set(source, protocol, path, message):
  with pytest.raises(ValueError, match=message):
    input_pipeline.load(source, protocol, 4, path=path)
