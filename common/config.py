"""Configs are code: ml_collections config files, command-line overrides, typed dataclasses.

As in flax's examples and big_vision, a training config is a Python file whose
`get_config()` returns an `ml_collections.ConfigDict` with typed defaults:

    # vision/configs/default.py
    import ml_collections
    from common import config as config_lib

    def get_config():
      config = ml_collections.ConfigDict()
      config.model = "resnet20"
      config.optimizer = ml_collections.ConfigDict()
      config.optimizer.learning_rate = 0.1
      config.num_train_steps = ml_collections.config_dict.placeholder(int)  # typed "unset"
      return config_lib.locked(config)

A variant imports the default and changes a few fields. Because the default
comes back locked, assigning a misspelled field is an error rather than a
silently ignored new field:

    # vision/configs/tpu.py
    from vision.configs import default

    def get_config():
      config = default.get_config()
      config.optimizer.learning_rate = 0.4
      return config

A binary defines the flag, overrides single fields on the command line and
resolves the config before doing anything else:

    _CONFIG = config_lib.DEFINE_config_file("config", default="vision/configs/default.py")
    # bazel run //vision:train -- --config=vision/configs/tpu.py --config.optimizer.learning_rate=0.2
    cfg = config_lib.resolve(_CONFIG.value)   # validated, printed, locked
    config_lib.save(cfg, workdir)             # config.json + config.txt
    model_cfg = config_lib.to_dataclass(cfg.model, models.ModelConfig)

Unknown fields (in a file or on the command line) and wrong-typed values raise
`ConfigError` naming the field and the fix. The loader refuses a `get_config()`
that returns an unlocked dict, so every default in the repo protects its variants.
"""

from __future__ import annotations

import difflib
import json
import os
import pathlib
import traceback
from collections.abc import Sequence
from typing import Any

import ml_collections
from absl import flags
from ml_collections import config_dict
from ml_collections.config_flags import config_flags
from ml_collections.config_flags import config_path as field_paths

from common import config_dataclass

ConfigError = config_dataclass.ConfigError
to_dataclass = config_dataclass.to_dataclass

_REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
# Plain values a config may hold: they survive JSON and the command line.
_PLAIN_TYPES = (bool, int, float, str, type(None))

__all__ = [
    "ConfigError", "DEFINE_config_file", "load", "locked", "read_saved", "resolve", "save",
    "to_dataclass",
]


def locked(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Locks `config` (and every nested dict) against new fields and returns it.

  End every `get_config()` with `return config_lib.locked(config)`: a variant
  that imports it then cannot add a misspelled field by accident. To add a field
  on purpose, write `with config.unlocked(): config.new_field = ...`.
  """
  if not isinstance(config, ml_collections.ConfigDict):
    raise ConfigError(f"locked() expects an ml_collections.ConfigDict, got {type(config).__name__}")
  config.lock()
  return config


def _find_config_file(path: str) -> pathlib.Path:
  """Finds a config file given as on the command line, or says where it looked."""
  candidates = [pathlib.Path(path)]
  if not os.path.isabs(path):
    # `bazel run` changes the working directory to the runfiles tree; the user
    # typed the path relative to where they stood (BUILD_WORKING_DIRECTORY).
    for env in ("BUILD_WORKING_DIRECTORY", "BUILD_WORKSPACE_DIRECTORY"):
      if os.environ.get(env):
        candidates.append(pathlib.Path(os.environ[env]) / path)
    candidates.append(_REPO_ROOT / path)
  for candidate in candidates:
    if candidate.is_file():
      return candidate
  tried = "\n  ".join(str(c) for c in dict.fromkeys(candidates))
  raise ConfigError(
      f"config file {path!r} not found; looked in:\n  {tried}\n"
      "Pass a path relative to the repo root or your working directory, e.g. "
      "--config=vision/configs/default.py")


def _error_location(tb, config_path: pathlib.Path) -> str:
  """The `file:line: code` of the innermost frame outside ml_collections (the bad line)."""
  frames = [f for f in traceback.extract_tb(tb) if "ml_collections" not in f.filename]
  if not frames:
    return str(config_path)
  frame = frames[-1]
  return f"{frame.filename}:{frame.lineno}: {(frame.line or '').strip()}"


def _check_typed(config: ml_collections.ConfigDict, source: str, prefix: str = "") -> None:
  """Every field holds a plain value with a type; None only as a typed placeholder."""
  for key, value in config.items(preserve_field_references=True):
    name = prefix + key
    if isinstance(value, config_dict.FieldReference):
      if value.get_type() is type(None):
        raise ConfigError(
            f"{source}: field {name!r} is None without a type; write "
            f"`ml_collections.config_dict.placeholder(float)` (or int/str/...) so that "
            f"--config.{name}=... can be parsed and checked")
      value = value.get()
      if value is None:
        continue  # a typed placeholder left unset: fine
    if isinstance(value, ml_collections.ConfigDict):
      _check_typed(value, source, name + ".")
    elif value is None:
      raise ConfigError(
          f"{source}: field {name!r} is None without a type; use "
          f"`ml_collections.config_dict.placeholder(<type>)`")
    elif isinstance(value, (tuple, list)):
      bad = [v for v in value if not isinstance(v, (*_PLAIN_TYPES, tuple, list))]
      if bad:
        raise ConfigError(f"{source}: field {name!r} holds a {type(bad[0]).__name__} inside a "
                          "sequence; configs hold plain values (bool, int, float, str, tuples)")
    elif not isinstance(value, _PLAIN_TYPES):
      raise ConfigError(
          f"{source}: field {name!r} holds a {type(value).__name__}; configs hold plain values "
          "(bool, int, float, str, tuples, nested ConfigDicts) so they can be overridden from "
          "the command line and saved as JSON. Store a name and look the object up in code.")


def _load_file(path_and_arg: str) -> ml_collections.ConfigDict:
  """Runs a config file's `get_config([arg])`; every failure becomes a ConfigError."""
  path, *arg = path_and_arg.split(":", 1)
  config_path = _find_config_file(path)
  module_name = "trellis_config_" + config_path.stem
  try:
    module = config_flags._load_source(module_name, str(config_path))
  except Exception as e:
    raise ConfigError(f"config file {config_path} failed to import: {type(e).__name__}: {e}") from e
  get_config = getattr(module, "get_config", None)
  if not callable(get_config):
    raise ConfigError(f"config file {config_path} has no get_config() function; "
                      "define `def get_config(): ... return config_lib.locked(config)`")
  try:
    config = get_config(*arg)
  except AttributeError as e:
    if "cannot be added since the config is locked" not in str(e):
      raise
    key = str(e).split('"')[1] if '"' in str(e) else str(e)
    raise ConfigError(
        f"{_error_location(e.__traceback__, config_path)}\n"
        f"  config has no field {key!r} (a misspelling?). Fields are declared in the default "
        "config's get_config(); fix the name, or add the field there. To add a field in a "
        "variant on purpose, use `with config.unlocked(): ...`.") from e
  except TypeError as e:
    raise ConfigError(f"{_error_location(e.__traceback__, config_path)}\n  wrong type: {e}") from e
  if not isinstance(config, ml_collections.ConfigDict):
    raise ConfigError(f"{config_path}: get_config() returned {type(config).__name__}; "
                      "it must return an ml_collections.ConfigDict")
  if not config.is_locked:
    raise ConfigError(
        f"{config_path}: get_config() returned an unlocked ConfigDict; end it with "
        "`return config_lib.locked(config)` (from common import config as config_lib) so a "
        "variant that assigns a misspelled field fails instead of adding it")
  _check_typed(config, str(config_path))
  return config


def _field_names(config: ml_collections.ConfigDict, prefix: str = "") -> list[str]:
  names = []
  for key, value in config.items():
    names.append(prefix + key)
    if isinstance(value, ml_collections.ConfigDict):
      names.extend(_field_names(value, prefix + key + "."))
  return names


def _check_override_exists(flag_name: str, config: Any, field_path: str) -> None:
  """Raises a ConfigError naming the field and the nearest real field names."""
  if isinstance(config, _Unloadable):
    raise config.error
  node = config
  for part in field_path.split("."):
    if isinstance(node, ml_collections.ConfigDict) and part in node:
      node = node[part]
      continue
    known = _field_names(config)
    close = difflib.get_close_matches(field_path, known, n=3)
    hint = f" Did you mean {', '.join('--' + flag_name + '.' + c for c in close)}?" if close else ""
    raise ConfigError(
        f"--{flag_name}.{field_path}: the config has no field {field_path!r}.{hint} "
        f"Overrides can only change fields the config file declares; add new fields to the "
        f"config file instead. Known fields: {', '.join(known)}")


class _OverrideParser(flags.ArgumentParser):
  """Wraps a field's parser so a bad value names the field, its type and an example."""

  def __init__(self, inner: flags.ArgumentParser, flag_name: str, field_type: Any, default: Any):
    self._inner = inner
    self._flag_name = flag_name
    self._field_type = field_type
    self._default = default

  def parse(self, argument):
    try:
      return self._inner.parse(argument)
    except (TypeError, ValueError) as e:
      type_name = getattr(self._field_type, "__name__", str(self._field_type))
      raise ValueError(
          f"config field {self._flag_name.split('.', 1)[1]!r} expects a {type_name} "
          f"(default {self._default!r}), got {argument!r} ({e}). "
          f"Example: --{self._flag_name}={self._default!r}") from e

  def flag_type(self):
    return self._inner.flag_type()

  def __getattr__(self, name):
    return getattr(self._inner, name)


class _FileParser(config_flags.ConfigFileFlagParser):
  """ml_collections' config file parser with our lookup rules and errors."""

  def parse(self, path):
    try:
      return _load_file(path)
    except ConfigError as e:
      # ml_collections parses the flag's default at definition time; keep a
      # missing or broken default from failing an import, report it on use.
      return _Unloadable(e)


class _Unloadable:
  """Stands in for a config that failed to load; any use raises the load error."""

  def __init__(self, error: ConfigError):
    object.__setattr__(self, "error", error)

  def __getattr__(self, name):
    raise self.error

  def __setattr__(self, name, value):
    raise self.error


class _ConfigFlag(config_flags._ConfigFlag):
  """ml_collections' config flag, with override checks that name the field and the fix."""

  def _parse(self, argument):
    try:
      config = super()._parse(argument)
    except ConfigError as e:
      # A flags.Error, so absl reports it as a usage error rather than a crash.
      raise flags.IllegalFlagValueError(str(e)) from e
    if isinstance(config, _Unloadable) and not self._parsing_default:
      raise flags.IllegalFlagValueError(str(config.error)) from config.error
    for field_path in self._GetOverrides(self._GetArgv()):
      name = f"{self.name}.{field_path}"
      if name in self.flag_values:
        flag = self.flag_values[name]
        field_type = field_paths.get_type(field_path, config)
        flag.parser = _OverrideParser(flag.parser, name, field_type, flag.default)
    return config

  _parsing_default = False

  def _set_default(self, default):
    # A default that fails to load is reported when the config is used, so that
    # defining the flag (at import time of a main.py) never fails.
    self._parsing_default = True
    try:
      super()._set_default(default)
    finally:
      self._parsing_default = False

  def _initialize_missing_parent_fields(self, config, overrides):
    # ml_collections would fail later with a bare KeyError; name the field instead.
    for field_path in overrides:
      _check_override_exists(self.name, config, field_path)


def DEFINE_config_file(  # noqa: N802 - absl's naming
    name: str,
    default: str | None = None,
    help_string: str = "path to a config file (Python, with get_config()); "
    "override single fields with --<name>.field=value",
    flag_values: flags.FlagValues = flags.FLAGS,
    sys_argv: list[str] | None = None,
) -> flags.FlagHolder:
  """Defines `--<name>=path/to/config.py[:arg]` plus `--<name>.a.b=value` overrides.

  Args:
    name: flag name, usually "config".
    default: config file used when the flag is not given (relative to the repo root).
    help_string: help text.
    flag_values: absl FlagValues to define the flag in (tests pass their own).
    sys_argv: argv to read overrides from; defaults to sys.argv at parse time.

  Returns:
    The flag holder; `.value` is the loaded, overridden, locked ConfigDict.
  """
  flag = _ConfigFlag(
      parser=_FileParser(name=name, lock_config=True), serializer=flags.ArgumentSerializer(),
      name=name, default=default, help_string=help_string, flag_values=flag_values,
      accept_new_attributes=False, sys_argv=sys_argv)
  return flags.DEFINE_flag(flag, flag_values)


def load(path: str, overrides: Sequence[str] = ()) -> ml_collections.ConfigDict:
  """Loads a config file and applies `a.b=value` overrides exactly as the command line would.

  For tests and tools: `load("vision/configs/default.py", ["optimizer.learning_rate=0.2"])`.
  """
  argv = ["load", f"--config={path}"] + [f"--config.{o}" for o in overrides]
  flag_values = flags.FlagValues()
  try:
    holder = DEFINE_config_file("config", flag_values=flag_values, sys_argv=argv)
    flag_values(argv)
  except flags.Error as e:
    raise ConfigError(str(e)) from e
  return holder.value


def resolve(config: Any, print_fn=print) -> ml_collections.ConfigDict:
  """Validates a loaded config, prints it, and returns a locked copy with references resolved.

  Call it first thing in `main`, so the run's log starts with what it ran.

  Raises:
    ConfigError: the config failed to load, holds a non-plain or untyped value.
  """
  if isinstance(config, _Unloadable):
    raise config.error
  if not isinstance(config, ml_collections.ConfigDict):
    raise ConfigError(f"resolve() expects the ConfigDict from a config flag, got {type(config).__name__}")
  _check_typed(config, "config")
  resolved = config.copy_and_resolve_references()
  resolved.lock()
  print_fn("Resolved config:\n" + _as_text(resolved))
  return resolved


def _as_text(config: ml_collections.ConfigDict) -> str:
  return "\n".join("  " + line for line in str(config).rstrip().splitlines())


def save(config: ml_collections.ConfigDict, directory: str | os.PathLike) -> pathlib.Path:
  """Writes `config.json` (machine-readable) and `config.txt` (for people) into `directory`.

  Both are written to a temporary name and renamed, so a reader never sees half a file.

  Returns:
    The path of config.json.
  """
  directory = pathlib.Path(directory)
  directory.mkdir(parents=True, exist_ok=True)
  as_dict = config.to_dict() if isinstance(config, ml_collections.ConfigDict) else dict(config)
  json_path = directory / "config.json"
  for path, text in ((json_path, json.dumps(as_dict, indent=2, sort_keys=True) + "\n"),
                     (directory / "config.txt", _as_text(ml_collections.ConfigDict(as_dict)) + "\n")):
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)
  return json_path


def read_saved(directory: str | os.PathLike) -> ml_collections.ConfigDict:
  """Reads back the config.json that `save` wrote (for evaluation and export jobs)."""
  path = pathlib.Path(directory) / "config.json"
  if not path.is_file():
    raise ConfigError(f"{path} does not exist; it is written by config_lib.save(cfg, workdir) "
                      "at the start of training. Point to the training run's workdir.")
  try:
    data = json.loads(path.read_text())
  except json.JSONDecodeError as e:
    raise ConfigError(f"{path} is not valid JSON ({e}); re-save it with config_lib.save") from e
  return locked(ml_collections.ConfigDict(data))

