"""flags.run_main: a main sees its command line, and the next run starts from a clean slate."""

import sys

import pytest
from absl import flags

from common import config as config_lib
from common.testing import flags as flags_testing

CONFIG = '''
import ml_collections
from common import config as config_lib

def get_config():
  config = ml_collections.ConfigDict()
  config.epochs = 3
  config.data = ml_collections.ConfigDict()
  config.data.path = "default"
  return config_lib.locked(config)
'''


@pytest.fixture
def program(tmp_path):
  """A binary's flags in their own FlagValues: --workdir and a config file with overrides."""
  (tmp_path / "config.py").write_text(CONFIG)
  values = flags.FlagValues()
  workdir = flags.DEFINE_string("workdir", None, "where the run goes", flag_values=values)
  config = config_lib.DEFINE_config_file("config", str(tmp_path / "config.py"),
                                         flag_values=values)

  def main(argv):  # argv: what absl leaves after the flags
    return argv, workdir.value, config.value.epochs, config.value.data.path, list(sys.argv)

  return values, main, f"--config={tmp_path / 'config.py'}"


def test_main_sees_flags_and_config_overrides(program):
  values, main, config = program
  argv = ["train", "--workdir=/tmp/run", config, "--config.epochs=1",
          "--config.data.path=/data"]
  assert flags_testing.run_main(main, argv, values) == (
      ["train"], "/tmp/run", 1, "/data", argv)


def test_a_second_run_starts_from_defaults_with_the_same_overrides_allowed(program):
  values, main, config = program
  argv_before = list(sys.argv)
  flags_testing.run_main(main, ["train", "--workdir=/a", config, "--config.epochs=1"], values)
  assert sys.argv == argv_before
  assert flags_testing.run_main(main, ["train", config, "--config.epochs=2"], values)[1:4] == (
      None, 2, "default")


def test_a_failing_main_still_cleans_up(program):
  values, _, config = program

  def failing(argv):
    raise RuntimeError("boom")

  with pytest.raises(RuntimeError, match="boom"):
    flags_testing.run_main(
        failing, ["train", config, "--config.epochs=5"], values)
  assert not values["workdir"].present and not any(n.startswith("config.") for n in values)
