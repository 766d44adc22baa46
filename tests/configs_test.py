"""Every config file of every domain loads the way its `main` loads it.

`bazel run //<domain>:train -- --config=<file>` parses the file through
`common.config.DEFINE_config_file`, which refuses untyped `None` fields, unknown fields and an
unlocked dict. A config that only a trainer's Python API ever builds (a bench, a test) can break
that path unnoticed: recsys/configs/movielens.py once set a field to a bare `None`, which every
test passed and `--config=recsys/configs/tpu.py` refused. So each file is loaded here, through
the flag, as a user's command line would.
"""

import pathlib

import pytest
from absl import flags

from common import config as config_lib

CONFIG_DIRS = ("vision/configs", "sequences/text/configs", "sequences/timeseries/configs",
               "recsys/configs")
FILES = sorted(str(p) for d in CONFIG_DIRS for p in pathlib.Path(d).glob("*.py")
               if p.name != "__init__.py")


def test_every_domain_has_config_files():
  found = {str(pathlib.Path(f).parent) for f in FILES}
  assert found == set(CONFIG_DIRS), f"no config files found under {set(CONFIG_DIRS) - found}"


@pytest.mark.parametrize("path", FILES)
def test_config_file_loads_through_the_flag(path):
  flag_values = flags.FlagValues()
  argv = ["main", f"--config={path}"]
  holder = config_lib.DEFINE_config_file("config", default=path, flag_values=flag_values,
                                         sys_argv=argv)
  flag_values(argv)
  config = holder.value
  assert config.is_locked, f"{path}: get_config() must return a locked config"
