"""Config files: finding them, running `get_config()`, and checking what it returns.

A config file is Python with `get_config([arg]) -> ml_collections.ConfigDict`
that ends with `return locked(config)`; see `common/config.py` for the
conventions. Loading turns every mistake a user can make in such a file (a
misspelled field, a wrong-typed value, a bare None, an unlocked dict, a missing
file) into a `ConfigError` that names the file, the line and the fix.
"""

from __future__ import annotations

import os
import pathlib
import re
import traceback

import ml_collections
from ml_collections import config_dict
from ml_collections.config_flags import config_flags as mlc_config_flags

_REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent  # local: this source tree
# Plain values a config may hold: they survive JSON and the command line.
_PLAIN_TYPES = (bool, int, float, str, type(None))


class ConfigError(ValueError):
  """A config is wrong in a way the user can fix; the message says how."""


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


def find_config_file(path: str) -> pathlib.Path:
  """Finds a config file given as on the command line, or says where it looked."""
  # local: a config is a Python module, imported from the local disk (never from gs://).
  candidates = [pathlib.Path(path)]  # local: see above
  if not os.path.isabs(path):
    # `bazel run` changes the working directory to the runfiles tree; the user
    # typed the path relative to where they stood (BUILD_WORKING_DIRECTORY).
    for env in ("BUILD_WORKING_DIRECTORY", "BUILD_WORKSPACE_DIRECTORY"):
      if os.environ.get(env):
        candidates.append(pathlib.Path(os.environ[env]) / path)  # local: bazel run cwd
    candidates.append(_REPO_ROOT / path)
  for candidate in candidates:
    if candidate.is_file():  # local: config modules
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


def check_typed(config: ml_collections.ConfigDict, source: str, prefix: str = "") -> None:
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
      check_typed(value, source, name + ".")
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


def load_file(path_and_arg: str) -> ml_collections.ConfigDict:
  """Runs a config file's `get_config([arg])`; every failure becomes a ConfigError."""
  path, *arg = path_and_arg.split(":", 1)
  config_path = find_config_file(path)
  module_name = "trellis_config_" + config_path.stem
  try:
    module = mlc_config_flags._load_source(module_name, str(config_path))
  except Exception as e:
    raise ConfigError(f"config file {config_path} failed to import: {type(e).__name__}: {e}") from e
  get_config = getattr(module, "get_config", None)
  if not callable(get_config):
    raise ConfigError(f"config file {config_path} has no get_config() function; "
                      "define `def get_config(): ... return config_lib.locked(config)`")
  try:
    config = get_config(*arg)
  except AttributeError as e:
    frames = traceback.extract_tb(e.__traceback__)
    if not frames or "ml_collections" not in frames[-1].filename:
      raise  # a bug in the config file's own code, not a field name
    # Assigning a new field to a locked dict ('Key "x" does not exist ...') or
    # reading a missing one ("'x' Did you mean "y" ...").
    key = (re.search(r'Key "([^"]+)"', str(e)) or re.search(r'instead of "([^"]+)"', str(e))
           or re.search(r"([A-Za-z_]\w*)", str(e)))
    suggestion = re.search(r'Did you mean "([^"]+)"', str(e))
    raise ConfigError(
        f"{_error_location(e.__traceback__, config_path)}\n"
        f"  config has no field {key.group(1) if key else str(e)!r} (a misspelling?"
        + (f" did you mean {suggestion.group(1)!r}?" if suggestion else "") + "). Fields are "
        "declared in the default config's get_config(); fix the name, or add the field there. "
        "To add a field in a variant on purpose, use `with config.unlocked(): ...`.") from e
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
  check_typed(config, str(config_path))
  return config
