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
    # bazel run //vision:train -- --config=vision/configs/tpu.py --config.learning_rate=0.2
    cfg = config_lib.resolve(_CONFIG.value)   # validated, printed, locked
    config_lib.save(cfg, workdir)             # config.json + config.txt
    model_cfg = config_lib.to_dataclass(cfg.model, models.ModelConfig)

Unknown fields (in a file or on the command line) and wrong-typed values raise
`ConfigError` naming the field and the fix. The loader refuses a `get_config()`
that returns an unlocked dict, so every default in the repo protects its variants.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import ml_collections
import yaml

from common import config_dataclass
from common import config_flags as config_flags_lib
from common.config_file import ConfigError, check_typed, locked
from common.config_flags import DEFINE_config_file, load

to_dataclass = config_dataclass.to_dataclass

__all__ = [
    "ConfigError", "DEFINE_config_file", "load", "locked", "read_saved", "resolve", "save",
    "to_dataclass",
]


def resolve(config: Any, print_fn=print) -> ml_collections.ConfigDict:
  """Validates a loaded config, prints it, and returns a locked copy with references resolved.

  Call it first thing in `main`, so the run's log starts with what it ran.

  Raises:
    ConfigError: the config failed to load, holds a non-plain or untyped value.
  """
  if isinstance(config, config_flags_lib.Unloadable):
    raise config.error
  if not isinstance(config, ml_collections.ConfigDict):
    raise ConfigError(f"resolve() expects the ConfigDict from a config flag, got {type(config).__name__}")
  check_typed(config, "config")
  resolved = config.copy_and_resolve_references()
  resolved.lock()
  print_fn("Resolved config:\n" + _as_text(resolved))
  return resolved


class _ConfigDumper(yaml.SafeDumper):
  """Nested dicts as blocks, lists inline: `widths: [16, 32, 64]`."""


_ConfigDumper.add_representer(
    list, lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data,
                                                         flow_style=True))


def _as_text(config: ml_collections.ConfigDict) -> str:
  """YAML-style text (tuples shown as [a, b]), indented, for logs and config.txt."""
  plain = json.loads(config.to_json_best_effort())
  text = yaml.dump(plain, Dumper=_ConfigDumper, sort_keys=True, default_flow_style=False,
                   width=100)
  return "\n".join("  " + line for line in text.rstrip().splitlines())


def save(config: ml_collections.ConfigDict, directory: str | os.PathLike) -> str:
  """Writes `config.json` (machine-readable) and `config.txt` (for people) into `directory`.

  `directory` may be any location TensorFlow's file systems know (`gs://bucket/run`, `ram://run`,
  a local path): the files go through `tf.io.gfile`. Each is written under a temporary name and
  renamed, so a reader never sees half a file (on object stores the rename is a copy, but the
  final name still appears only once the whole object is there).

  Returns:
    The location of config.json.
  """
  import tensorflow as tf  # imported here: loading and resolving configs need no TensorFlow

  directory = os.fspath(directory)
  tf.io.gfile.makedirs(directory)
  as_dict = config.to_dict() if isinstance(config, ml_collections.ConfigDict) else dict(config)
  json_path = os.path.join(directory, "config.json")
  for path, text in ((json_path, json.dumps(as_dict, indent=2, sort_keys=True) + "\n"),
                     (os.path.join(directory, "config.txt"),
                      _as_text(ml_collections.ConfigDict(as_dict)) + "\n")):
    tmp = os.path.join(directory, f".{os.path.basename(path)}.tmp-{uuid.uuid4().hex[:12]}")
    with tf.io.gfile.GFile(tmp, "w") as f:
      f.write(text)
    tf.io.gfile.rename(tmp, path, overwrite=True)
  return json_path


def read_saved(directory: str | os.PathLike) -> ml_collections.ConfigDict:
  """Reads back the config.json that `save` wrote (for evaluation and export jobs)."""
  import tensorflow as tf  # imported here: reading a config file needs no TensorFlow

  path = os.path.join(os.fspath(directory), "config.json")
  if not tf.io.gfile.exists(path):
    raise ConfigError(f"{path} does not exist; it is written by config_lib.save(cfg, workdir) "
                      "at the start of training. Point to the training run's workdir.")
  with tf.io.gfile.GFile(path) as f:
    text = f.read()
  try:
    data = json.loads(text)
  except json.JSONDecodeError as e:
    raise ConfigError(f"{path} is not valid JSON ({e}); re-save it with config_lib.save") from e
  return locked(ml_collections.ConfigDict(data))

