"""The `--config` absl flag: a config file plus `--config.a.b=value` overrides.

Built on ml_collections' `config_flags` (flax and big_vision use it), with our
file lookup (`config_file`) and errors that name the field and the fix: an
override of a field the config does not declare, or a value that does not parse
as the field's type, is a usage error (`FATAL Flags parsing error: ...`), not a
traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

import ml_collections
from absl import flags
from ml_collections.config_flags import config_flags as mlc_config_flags
from ml_collections.config_flags import config_path as field_paths

from common.config_file import ConfigError, load_file


def _field_names(config: ml_collections.ConfigDict, prefix: str = "") -> list[str]:
  names = []
  for key, value in config.items():
    names.append(prefix + key)
    if isinstance(value, ml_collections.ConfigDict):
      names.extend(_field_names(value, prefix + key + "."))
  return names


def _check_override_exists(flag_name: str, config: Any, field_path: str) -> None:
  """Raises a ConfigError naming the field and the nearest real field names."""
  if isinstance(config, Unloadable):
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
          f"config field {self._flag_name.split('.', 1)[1]!r} expects {type_name} "
          f"(default {self._default!r}), got {argument!r} ({e}). "
          f"Example: --{self._flag_name}={self._default!r}") from e

  def flag_type(self):
    return self._inner.flag_type()

  def __getattr__(self, name):
    return getattr(self._inner, name)


class _FailingParser(flags.ArgumentParser):
  """The parser of an override naming a field that does not exist: always fails."""

  def __init__(self, error: ConfigError):
    self._error = error

  def parse(self, argument):
    raise self._error


class _FileParser(mlc_config_flags.ConfigFileFlagParser):
  """ml_collections' config file parser with our lookup rules and errors."""

  def parse(self, path):
    try:
      return load_file(path)
    except ConfigError as e:
      # ml_collections parses the flag's default at definition time; keep a
      # missing or broken default from failing an import, report it on use.
      return Unloadable(e)


class Unloadable:
  """Stands in for a config that failed to load; any use raises the load error."""

  def __init__(self, error: ConfigError):
    object.__setattr__(self, "error", error)

  def __getattr__(self, name):
    raise self.error

  def __setattr__(self, name, value):
    raise self.error


class _ConfigFlag(mlc_config_flags._ConfigFlag):
  """ml_collections' config flag, with override checks that name the field and the fix."""

  def _parse(self, argument):
    try:
      config = super()._parse(argument)
    except ConfigError as e:
      # A flags.Error, so absl reports it as a usage error rather than a crash.
      raise flags.IllegalFlagValueError(str(e)) from e
    if isinstance(config, Unloadable) and not self._parsing_default:
      raise flags.IllegalFlagValueError(str(config.error)) from config.error
    for field_path in self._GetOverrides(self._GetArgv()):
      name = f"{self.name}.{field_path}"
      if name in self.flag_values and not isinstance(self.flag_values[name].parser,
                                                     (_FailingParser, _OverrideParser)):
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
    for field_path in list(overrides):
      try:
        _check_override_exists(self.name, config, field_path)
      except ConfigError as e:
        if not self._parsing_default:
          raise
        # Defining the flag (at import) must not fail: register the bad override
        # as a flag whose parsing raises, so absl reports it as a usage error.
        overrides.remove(field_path)
        flags.DEFINE_flag(flags.Flag(_FailingParser(e), flags.ArgumentSerializer(),
                                     f"{self.name}.{field_path}", None, str(e)),
                          flag_values=self.flag_values)


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

  For tests and tools: `load("vision/configs/default.py", ["learning_rate=0.2"])`.
  """
  argv = ["load", f"--config={path}"] + [f"--config.{o}" for o in overrides]
  flag_values = flags.FlagValues()
  try:
    holder = DEFINE_config_file("config", flag_values=flag_values, sys_argv=argv)
    flag_values(argv)
  except flags.Error as e:
    raise ConfigError(str(e)) from e
  return holder.value
