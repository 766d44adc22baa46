"""A loaded model version: the SavedModel, its signatures and its export metadata.

`load(name, version, path)` reads one `<export_root>/<name>/<version>/` directory of
the TensorFlow Serving layout, on any filesystem TensorFlow knows (local, gs://,
ram://): everything is read through `tf.io.gfile` and TensorFlow's own loader. Exports whose metadata lists custom ops (e.g.
tensorflow-text) get those op libraries imported first, because a SavedModel
using them does not load otherwise. `warm_up` runs the model once per signature
before it takes traffic, so the first real request does not pay for graph
initialisation.
"""

import dataclasses
import importlib
import json
import logging
import re
from typing import Any

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from common.export import warmup as warmup_lib
from serving.core.signature import Signature

log = logging.getLogger(__name__)

METADATA_FILE = "assets.extra/metadata.json"
# Only importable module names; metadata comes from our own export root but a
# typo should not turn into an arbitrary import path.
_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class LoadError(Exception):
  """A version directory that cannot be served (corrupt, missing ops, no signatures)."""


@dataclasses.dataclass
class Servable:
  """One loaded version of one model."""

  name: str
  version: int
  path: str  # local path or filesystem URL of the version directory
  signatures: dict[str, Signature]
  signature_defs: dict[str, meta_graph_pb2.SignatureDef]
  metadata: dict[str, Any]
  # Keeps the loaded object (and so its variables) alive while signatures are used.
  loaded: Any = dataclasses.field(repr=False, default=None)


def _join(path: str, name: str) -> str:
  return f"{path.rstrip('/')}/{name}"


def read_metadata(path) -> dict[str, Any]:
  """The export's `assets.extra/metadata.json`, or {} when the export has none."""
  f = _join(str(path), METADATA_FILE)
  if not tf.io.gfile.exists(f):
    return {}
  try:
    with tf.io.gfile.GFile(f, "rb") as fh:
      return json.loads(fh.read())
  except (json.JSONDecodeError, UnicodeDecodeError) as e:
    raise LoadError(f"{f} is not valid JSON ({e}); re-export the model") from e


def import_custom_ops(metadata: dict[str, Any]) -> None:
  """Imports the op libraries an export says it needs (registers their ops)."""
  for module in metadata.get("custom_ops", []) or []:
    if not isinstance(module, str) or not _MODULE_NAME.match(module):
      raise LoadError(f"metadata custom_ops entry {module!r} is not a Python module name")
    try:
      importlib.import_module(module)
    except ImportError as e:
      raise LoadError(f"export needs custom ops from {module!r}, which is not installed "
                      f"({e}); add it to requirements.txt") from e


def _signature_defs(path: str) -> dict[str, meta_graph_pb2.SignatureDef]:
  saved_model = saved_model_pb2.SavedModel()
  with tf.io.gfile.GFile(_join(path, "saved_model.pb"), "rb") as f:
    saved_model.ParseFromString(f.read())
  for meta_graph in saved_model.meta_graphs:
    if "serve" in meta_graph.meta_info_def.tags:
      return dict(meta_graph.signature_def)
  raise LoadError(f"{path} has no MetaGraph tagged 'serve'; export with tf.saved_model.save")


def load(name: str, version: int, path) -> Servable:
  """Loads one version directory.

  Raises:
    LoadError: with the reason, when the directory is not a servable SavedModel.
  """
  path = str(path)
  if not tf.io.gfile.exists(_join(path, "saved_model.pb")):
    raise LoadError(f"{path} has no saved_model.pb")
  metadata = read_metadata(path)
  import_custom_ops(metadata)
  try:
    signature_defs = _signature_defs(path)
    loaded = tf.saved_model.load(path, tags=["serve"])
  except LoadError:
    raise
  except Exception as e:  # any load failure makes the version unservable
    message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if "Op type not registered" in str(e):
      message += " (the export needs a custom op library: list it in metadata custom_ops)"
    raise LoadError(f"cannot load SavedModel {path}: {message}") from e
  signatures = {}
  for key, fn in loaded.signatures.items():
    try:
      signatures[key] = Signature.from_function(name, version, key, fn)
    except ValueError as e:
      raise LoadError(f"{path}: {e}") from e
  if not signatures:
    raise LoadError(f"{path} exports no signatures; pass signatures= to tf.saved_model.save")
  return Servable(name, version, path, signatures, signature_defs, metadata, loaded)


def _synthetic_input(spec: tf.TensorSpec) -> np.ndarray:
  shape = [1 if d is None else d for d in (spec.shape.as_list() if spec.shape.rank is not None else [1])]
  if spec.dtype == tf.string:
    return np.full(shape, b"", dtype=object)
  return np.zeros(shape, dtype=spec.dtype.as_numpy_dtype)


def warm_up(servable: Servable) -> int:
  """Runs warm-up requests; returns how many ran.

  With a TF Serving warm-up file, its Predict requests are replayed and must all
  succeed (a failure makes the version unservable). Without one, each signature
  is called once on zeros / empty strings of its input shapes; such synthetic
  inputs can be meaningless to a model (empty image bytes), so a failure there
  is logged, not fatal.

  Raises:
    LoadError: when a recorded warm-up request fails.
  """
  if tf.io.gfile.exists(_join(servable.path, warmup_lib.WARMUP_FILE)):
    count = 0
    for key, inputs in warmup_lib.read(servable.path):
      if key not in servable.signatures:
        raise LoadError(f"warm-up request names unknown signature {key!r}")
      sig = servable.signatures[key]
      try:
        sig.run(sig.check_inputs(inputs))
      except Exception as e:
        raise LoadError(f"warm-up request {count} failed on {sig.describe()}: {e}") from e
      count += 1
    return count
  count = 0
  for sig in servable.signatures.values():
    try:
      sig.run({k: _synthetic_input(s) for k, s in sig.inputs.items()})
      count += 1
    except Exception as e:
      log.warning("synthetic warm-up of %s failed (not fatal): %s", sig.describe(), e)
  return count
