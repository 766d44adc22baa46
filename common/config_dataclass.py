"""Typed dataclasses at the model boundary, built from a ConfigDict.

flax's examples keep the config system out of model code: the trainer turns
`cfg.model` into a frozen dataclass, and the model only ever sees that. This
module does the conversion strictly, so a config and its dataclass cannot drift
apart silently:

    @dataclasses.dataclass(frozen=True)
    class ModelConfig:
      depth: int = 20
      widths: tuple[int, ...] = (16, 32, 64)
      dropout: float | None = None

    model_cfg = config_lib.to_dataclass(cfg.model, ModelConfig)

A key the dataclass does not declare, a missing required field, or a value of
the wrong type raises `ConfigError` naming the field. Nested dataclasses,
`Optional`/unions, `Literal`, tuples, lists and dicts of these are understood;
an int is accepted for a float (as ml_collections does).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from common.config_file import ConfigError

T = TypeVar("T")


def to_dataclass(config: Any, cls: type[T], *, path: str = "") -> T:
  """Builds `cls(**config)` with every key checked against the dataclass's fields and types.

  Args:
    config: a ConfigDict, a dict (e.g. from config.json), or already a `cls`.
    cls: the dataclass type.
    path: the field path of `config` in the full config, used in error messages
      (e.g. "model"); purely informational.

  Returns:
    An instance of `cls`.

  Raises:
    ConfigError: unknown key, missing required field, or wrong-typed value.
  """
  if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
    raise ConfigError(f"to_dataclass() needs a dataclass type, got {cls!r}")
  if isinstance(config, cls):
    return config
  if hasattr(config, "to_dict"):
    config = config.to_dict()
  where = f"{path}: " if path else ""
  if not isinstance(config, Mapping):
    raise ConfigError(f"{where}expected a mapping of fields for {cls.__name__}, "
                      f"got {type(config).__name__}")
  fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
  unknown = sorted(set(config) - set(fields))
  if unknown:
    raise ConfigError(
        f"{where}{cls.__name__} has no field(s) {', '.join(map(repr, unknown))}; "
        f"its fields are: {', '.join(fields)}. Rename the config key or add the field "
        f"to {cls.__module__}.{cls.__qualname__}.")
  missing = [
      name for name, f in fields.items()
      if name not in config and f.default is dataclasses.MISSING
      and f.default_factory is dataclasses.MISSING
  ]
  if missing:
    raise ConfigError(f"{where}{cls.__name__} requires field(s) {', '.join(map(repr, missing))} "
                      "that the config does not set; add them to the config file")
  hints = typing.get_type_hints(cls)
  kwargs = {}
  for name, value in config.items():
    field_path = f"{path}.{name}" if path else name
    kwargs[name] = _convert(value, hints[name], field_path)
  return cls(**kwargs)


def _type_name(tp: Any) -> str:
  if isinstance(tp, type):
    return tp.__name__
  return str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, path: str) -> Any:
  """Checks `value` against annotation `tp`, converting lists to tuples and ints to floats."""
  if tp is Any:
    return value
  origin = typing.get_origin(tp)
  args = typing.get_args(tp)
  if origin in (typing.Union, types.UnionType):
    if value is None and type(None) in args:
      return None
    for arg in args:
      if arg is type(None):
        continue
      try:
        return _convert(value, arg, path)
      except ConfigError:
        pass
    raise ConfigError(f"{path}: {value!r} matches none of {_type_name(tp)}")
  if origin is typing.Literal:
    if value not in args:
      raise ConfigError(f"{path}: {value!r} is not one of {', '.join(map(repr, args))}")
    return value
  if dataclasses.is_dataclass(tp) and isinstance(tp, type):
    return to_dataclass(value, tp, path=path)
  if origin in (tuple, list):
    if not isinstance(value, (tuple, list)):
      raise ConfigError(f"{path}: expected a {_type_name(tp)}, got {type(value).__name__} "
                        f"{value!r}")
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
      items = [_convert(v, args[0], f"{path}[{i}]") for i, v in enumerate(value)]
    elif origin is tuple and args:
      if len(args) != len(value):
        raise ConfigError(f"{path}: expected {len(args)} values ({_type_name(tp)}), "
                          f"got {len(value)}: {value!r}")
      items = [_convert(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True))]
    else:
      elem = args[0] if args else Any
      items = [_convert(v, elem, f"{path}[{i}]") for i, v in enumerate(value)]
    return tuple(items) if origin is tuple else items
  if origin in (dict, Mapping) or tp is dict:
    if hasattr(value, "to_dict"):
      value = value.to_dict()
    if not isinstance(value, Mapping):
      raise ConfigError(f"{path}: expected a mapping, got {type(value).__name__}")
    key_tp, val_tp = args if args else (Any, Any)
    return {_convert(k, key_tp, f"{path} key"): _convert(v, val_tp, f"{path}[{k!r}]")
            for k, v in value.items()}
  if tp is float and isinstance(value, int) and not isinstance(value, bool):
    return float(value)
  if tp in (tuple, list) and isinstance(value, (tuple, list)):
    return tp(value)
  if isinstance(tp, type):
    # bool is an int in Python; a config's True must not pass for a layer count.
    if isinstance(value, bool) and tp is not bool:
      raise ConfigError(f"{path}: expected {tp.__name__}, got bool {value!r}")
    if not isinstance(value, tp):
      raise ConfigError(f"{path}: expected {tp.__name__}, got {type(value).__name__} {value!r}; "
                        "fix the value in the config file or on the command line")
    return value
  raise ConfigError(f"{path}: to_dataclass() does not understand the annotation {tp!r}")
