"""Config files, variants, command-line overrides and their errors (common/config.py)."""

import dataclasses
import json
import os
import pathlib
import subprocess
import sys
import textwrap
from typing import Literal

import ml_collections
import pytest
from absl import flags

from common import config as config_lib

DEFAULT = "common/testdata/config/default.py"
VARIANT = "common/testdata/config/variant.py"


def _parse(argv, default=DEFAULT):
  """Parses argv with a fresh flag registry, as `main` would with absl."""
  flag_values = flags.FlagValues()
  holder = config_lib.DEFINE_config_file(
      "config", default=default, flag_values=flag_values, sys_argv=argv)
  flag_values(argv)
  return holder.value


def test_default_file_loads_typed_and_locked():
  cfg = config_lib.load(DEFAULT)
  assert cfg.optimizer.learning_rate == 0.1
  assert cfg.model.widths == (16, 32, 64)
  assert cfg.model.dropout is None
  assert cfg.is_locked


def test_config_file_argument_after_colon_reaches_get_config():
  assert config_lib.load(DEFAULT + ":tiny").batch_size == 8


def test_variant_changes_only_its_fields():
  cfg = config_lib.load(VARIANT)
  assert (cfg.optimizer.learning_rate, cfg.batch_size) == (0.4, 1024)
  assert cfg.optimizer.momentum == 0.9  # inherited from the default


def test_variant_assigning_a_misspelled_field_fails_naming_it_and_the_line():
  with pytest.raises(config_lib.ConfigError) as e:
    config_lib.load("common/testdata/config/misspelled_variant.py")
  message = str(e.value)
  assert "learnng_rate" in message
  assert "misspelled_variant.py:8" in message  # the offending line
  assert "misspelling" in message


def test_variant_reading_a_misspelled_sub_config_fails_with_a_suggestion():
  with pytest.raises(config_lib.ConfigError,
                     match=r"misspelled_parent_variant.py:8.*\n.*no field 'optimzer' "
                           r"\(a misspelling\? did you mean 'optimizer'\?\)"):
    config_lib.load("common/testdata/config/misspelled_parent_variant.py")


def test_bad_override_in_a_real_main_is_a_usage_error_without_traceback():
  # What a user sees from `bazel run //x:train -- --config.bach_size=3`.
  script = textwrap.dedent(f"""
      from absl import app
      from common import config as config_lib
      _CONFIG = config_lib.DEFINE_config_file("config", default={DEFAULT!r})
      app.run(lambda argv: print(config_lib.resolve(_CONFIG.value).batch_size))
  """)
  env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
  ok = subprocess.run([sys.executable, "-c", script, "--config.batch_size=3"],
                      capture_output=True, text=True, env=env, check=False)
  assert ok.returncode == 0 and ok.stdout.strip().endswith("3"), ok.stderr
  bad = subprocess.run([sys.executable, "-c", script, "--config.bach_size=3"],
                       capture_output=True, text=True, env=env, check=False)
  assert bad.returncode == 1
  assert "FATAL Flags parsing error" in bad.stderr and "Did you mean --config.batch_size" in bad.stderr
  assert "Traceback" not in bad.stderr


def test_variant_assigning_a_wrong_type_fails():
  with pytest.raises(config_lib.ConfigError, match=r"wrong_type_variant.py:8.*\n.*wrong type.*'learning_rate'"):
    config_lib.load("common/testdata/config/wrong_type_variant.py")


def test_unlocked_get_config_is_refused_with_the_fix():
  with pytest.raises(config_lib.ConfigError, match=r"unlocked ConfigDict.*config_lib.locked\(config\)"):
    config_lib.load("common/testdata/config/unlocked.py")


def test_untyped_none_is_refused():
  with pytest.raises(config_lib.ConfigError, match=r"'num_steps' is None without a type.*placeholder"):
    config_lib.load("common/testdata/config/untyped_none.py")


def test_missing_file_says_where_it_looked():
  with pytest.raises(config_lib.ConfigError, match=r"'nope/cfg.py' not found; looked in"):
    config_lib.load("nope/cfg.py")


def test_broken_config_files_name_the_file_and_the_fix(tmp_path):
  (tmp_path / "syntax.py").write_text("def get_config(:\n")
  with pytest.raises(config_lib.ConfigError, match=r"syntax.py failed to import: SyntaxError"):
    config_lib.load(str(tmp_path / "syntax.py"))
  (tmp_path / "no_fn.py").write_text("CONFIG = 1\n")
  with pytest.raises(config_lib.ConfigError, match=r"has no get_config\(\) function"):
    config_lib.load(str(tmp_path / "no_fn.py"))
  (tmp_path / "returns_dict.py").write_text("def get_config():\n  return {'a': 1}\n")
  with pytest.raises(config_lib.ConfigError, match="returned dict; it must return an ml_collections"):
    config_lib.load(str(tmp_path / "returns_dict.py"))
  with pytest.raises(config_lib.ConfigError, match=r"expects an ml_collections\.ConfigDict, got dict"):
    config_lib.locked({"a": 1})


def test_command_line_overrides_single_fields_with_type_conversion():
  cfg = _parse([
      "train", "--config.optimizer.learning_rate=1", "--config.model.dropout=0.5",
      "--config.use_bfloat16", "--config.model.widths=(8, 8)", "--config.model.name=resnet56",
  ])
  assert cfg.optimizer.learning_rate == 1.0 and isinstance(cfg.optimizer.learning_rate, float)
  assert cfg.model.dropout == 0.5
  assert cfg.use_bfloat16 is True
  assert cfg.model.widths == (8, 8)
  assert cfg.model.name == "resnet56"
  assert cfg.batch_size == 128  # untouched


def test_command_line_overrides_apply_on_top_of_a_variant():
  cfg = _parse(["train", f"--config={VARIANT}", "--config.batch_size=64"])
  assert (cfg.optimizer.learning_rate, cfg.batch_size) == (0.4, 64)


def test_unknown_field_on_command_line_names_it_and_suggests():
  with pytest.raises(flags.Error) as e:
    _parse(["train", "--config.optimizer.learnng_rate=0.2"])
  message = str(e.value)
  assert "no field 'optimizer.learnng_rate'" in message
  assert "Did you mean --config.optimizer.learning_rate" in message


def test_unknown_field_through_load_is_a_config_error():
  with pytest.raises(config_lib.ConfigError, match="no field 'bach_size'"):
    config_lib.load(DEFAULT, ["bach_size=3"])


def test_wrong_typed_value_on_command_line_names_field_type_and_example():
  with pytest.raises(flags.Error) as e:
    _parse(["train", "--config.batch_size=lots"])
  message = str(e.value)
  assert "'batch_size' expects int" in message
  assert "got 'lots'" in message
  assert "Example: --config.batch_size=128" in message


def test_float_for_int_field_is_rejected():
  with pytest.raises(config_lib.ConfigError, match="'batch_size' expects int"):
    config_lib.load(DEFAULT, ["batch_size=1.5"])


def test_missing_default_file_fails_on_use_not_on_definition():
  flag_values = flags.FlagValues()
  holder = config_lib.DEFINE_config_file(
      "config", default="does/not/exist.py", flag_values=flag_values, sys_argv=["train"])
  # Defining the flag (at import time of a main.py) must not fail ...
  flag_values(["train"])
  # ... but using the config does, with the lookup message.
  with pytest.raises(config_lib.ConfigError, match="not found"):
    config_lib.resolve(holder.value)


def test_resolve_prints_and_returns_a_locked_copy():
  printed = []
  cfg = config_lib.load(DEFAULT)
  with cfg.unlocked():
    cfg.optimizer.peak = ml_collections.FieldReference(0.3)
  resolved = config_lib.resolve(cfg, print_fn=printed.append)
  assert resolved.is_locked
  assert resolved.optimizer.peak == 0.3
  assert printed[0].startswith("Resolved config:")
  assert "learning_rate: 0.1" in printed[0]
  with pytest.raises(AttributeError):
    resolved.new_field = 1


def test_resolve_rejects_objects_that_cannot_be_saved():
  cfg = ml_collections.ConfigDict({"loss": object()})
  with pytest.raises(config_lib.ConfigError, match=r"'loss' holds a object.*look the object up"):
    config_lib.resolve(cfg, print_fn=lambda _: None)


def test_save_writes_json_and_text_and_reads_back(tmp_path):
  cfg = config_lib.resolve(config_lib.load(VARIANT), print_fn=lambda _: None)
  path = config_lib.save(cfg, tmp_path / "run")
  data = json.loads(pathlib.Path(path).read_text())
  assert data["optimizer"]["learning_rate"] == 0.4
  assert data["model"]["widths"] == [16, 32, 64]
  assert "learning_rate: 0.4" in (tmp_path / "run" / "config.txt").read_text()
  back = config_lib.read_saved(tmp_path / "run")
  assert back.batch_size == 1024 and back.is_locked


def test_save_and_read_saved_on_a_non_local_file_system(tmp_path, monkeypatch):
  # ram:// is TensorFlow's in-memory file system: a stand-in for gs:// that needs no network.
  # The old pathlib code turned such a URL into a local folder named "ram:" (or "gs:").
  monkeypatch.chdir(tmp_path)
  cfg = config_lib.resolve(config_lib.load(VARIANT), print_fn=lambda _: None)
  path = config_lib.save(cfg, "ram://config_test/run")
  assert path == "ram://config_test/run/config.json"
  assert config_lib.read_saved("ram://config_test/run").batch_size == 1024
  assert not list(tmp_path.iterdir())  # nothing local, in particular no "ram:" folder


def test_read_saved_missing_file_says_who_writes_it(tmp_path):
  with pytest.raises(config_lib.ConfigError, match=r"written by config_lib.save"):
    config_lib.read_saved(tmp_path)


@dataclasses.dataclass(frozen=True)
class Optimizer:
  learning_rate: float
  momentum: float = 0.0


@dataclasses.dataclass(frozen=True)
class Model:
  name: Literal["resnet20", "resnet56"]
  widths: tuple[int, ...]
  dropout: float | None = None


@dataclasses.dataclass(frozen=True)
class Train:
  model: Model
  optimizer: Optimizer
  batch_size: int
  use_bfloat16: bool


def test_to_dataclass_builds_nested_typed_values():
  cfg = config_lib.load(DEFAULT, ["optimizer.learning_rate=1"])
  train = config_lib.to_dataclass(cfg, Train)
  assert train.model == Model(name="resnet20", widths=(16, 32, 64), dropout=None)
  assert train.optimizer == Optimizer(learning_rate=1.0, momentum=0.9)
  # JSON gives lists; the dataclass wants a tuple.
  saved = {"name": "resnet56", "widths": [8, 8]}
  assert config_lib.to_dataclass(saved, Model).widths == (8, 8)


def test_to_dataclass_unknown_key_names_it_and_the_fields():
  with pytest.raises(config_lib.ConfigError,
                     match=r"Optimizer has no field\(s\) 'lr'; its fields are: learning_rate, momentum"):
    config_lib.to_dataclass({"learning_rate": 0.1, "lr": 0.2}, Optimizer)


def test_to_dataclass_wrong_types_name_the_field_path():
  cfg = config_lib.load(DEFAULT)
  with pytest.raises(config_lib.ConfigError, match=r"model.widths\[1\]: expected int, got str"):
    config_lib.to_dataclass({**cfg.to_dict(), "model": {"name": "resnet20", "widths": (1, "x")}},
                            Train)
  with pytest.raises(config_lib.ConfigError, match="batch_size: expected int, got bool"):
    config_lib.to_dataclass({**cfg.to_dict(), "batch_size": True}, Train)
  with pytest.raises(config_lib.ConfigError, match="'resnet99' is not one of"):
    config_lib.to_dataclass({"name": "resnet99", "widths": ()}, Model)


def test_to_dataclass_missing_required_field():
  with pytest.raises(config_lib.ConfigError, match=r"requires field.*'learning_rate'"):
    config_lib.to_dataclass({"momentum": 0.9}, Optimizer)
