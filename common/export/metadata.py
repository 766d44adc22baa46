"""`assets.extra/metadata.json`: what an exported model is, how it was made, how good it is.

TF Serving copies nothing from `assets.extra/`, so it is the conventional place
for files about a model that the graph does not use. Ours records:

    format_version     1
    model_name, version, domain
    signatures         {name: {method_name, inputs: {key: {dtype, shape}}, outputs: {...}}}
                       read from the SavedModel's own SignatureDefs, i.e. what a client sees
    config             the resolved training config (a dict)
    data_fingerprint   identifies the training data (e.g. a sha256 of the split files)
    metrics            eval/test metrics of this model
    baseline_metrics   the same metrics for the domain's non-learned baseline
    source_revision    `git rev-parse HEAD` (+ "-dirty"), or "unknown"
    created_at         UTC ISO-8601
    tensorflow_version
    custom_ops         modules to import before loading (e.g. "tensorflow_text")
    custom_op_names    the non-core op types the graph uses (e.g. "TFText>WhitespaceTokenizeWithOffsetsV2")
    assets             names of extra files copied into assets/
    extra              free-form, domain-specific

Readers (`read`) need no TensorFlow for a local export: the serving core and tools use them
cheaply. Exports on other file systems (gs://, ram://) are read and written through
`tf.io.gfile`; there `metadata.json` is the last file an export writes, so its presence is what
marks a version complete (see `versions`).
"""

from __future__ import annotations

import datetime
import json
import math
import os
import pathlib
import subprocess
from collections.abc import Mapping
from typing import Any

from common.export import versions

FORMAT_VERSION = 1
RELATIVE_PATH = pathlib.PurePosixPath("assets.extra") / "metadata.json"  # a relative name
REQUIRED_KEYS = ("format_version", "model_name", "version", "domain", "signatures", "created_at")


class MetadataError(ValueError):
  """metadata.json is missing, unreadable or incomplete; the message says what to do."""


def source_revision(repo_dir: str | os.PathLike | None = None) -> str:
  """The git commit of the source tree, with "-dirty" if it has local changes; else "unknown".

  `TRELLIS_SOURCE_REVISION` wins (CI sets it where there is no .git). Under
  `bazel run` the source tree is BUILD_WORKSPACE_DIRECTORY, not the runfiles.
  """
  if os.environ.get("TRELLIS_SOURCE_REVISION"):
    return os.environ["TRELLIS_SOURCE_REVISION"]
  repo_dir = (repo_dir or os.environ.get("BUILD_WORKSPACE_DIRECTORY")
              or pathlib.Path(__file__).resolve().parents[2])  # local: the git checkout
  try:
    rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo_dir, capture_output=True,
                         text=True, timeout=10, check=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           cwd=repo_dir, capture_output=True, text=True, timeout=30,
                           check=True).stdout.strip()
  except (OSError, subprocess.SubprocessError):
    return "unknown"
  return rev + ("-dirty" if dirty else "") if rev else "unknown"


def utc_now_iso() -> str:
  return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def to_json_value(value: Any, path: str = "value") -> Any:
  """Converts numpy scalars/arrays, tuples and ConfigDicts to JSON; NaN/inf become None.

  Raises:
    MetadataError: naming the offending key, for values JSON cannot hold.
  """
  if hasattr(value, "to_dict"):  # ml_collections.ConfigDict
    value = value.to_dict()
  if isinstance(value, Mapping):
    return {str(k): to_json_value(v, f"{path}.{k}") for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [to_json_value(v, f"{path}[{i}]") for i, v in enumerate(value)]
  if hasattr(value, "tolist") and hasattr(value, "dtype"):  # numpy scalar or array
    return to_json_value(value.tolist(), path)
  if isinstance(value, float) and not math.isfinite(value):
    return None  # JSON has no NaN; an undefined metric is recorded as null
  if value is None or isinstance(value, (bool, int, float, str)):
    return value
  raise MetadataError(f"{path} is a {type(value).__name__}, which metadata.json cannot hold; "
                      "pass plain numbers, strings, lists and dicts")


def signatures_from_saved_model(saved_model_dir: str | os.PathLike) -> dict[str, dict]:
  """Reads the SignatureDefs (inputs/outputs with dtype and shape) from saved_model.pb.

  This is what TF Serving and `tf.saved_model.load(...).signatures` expose,
  derived by TensorFlow from the exported concrete functions.
  """
  import tensorflow as tf  # only writers need TensorFlow
  from tensorflow.core.protobuf import saved_model_pb2

  proto = saved_model_pb2.SavedModel()
  proto.ParseFromString(_read_bytes(versions.join(saved_model_dir, "saved_model.pb")))

  def spec(tensor_info) -> dict:
    shape = tensor_info.tensor_shape
    dims = None if shape.unknown_rank else [d.size for d in shape.dim]
    return {"dtype": tf.dtypes.as_dtype(tensor_info.dtype).name, "shape": dims}

  result = {}
  for name, sig in sorted(proto.meta_graphs[0].signature_def.items()):
    if name.startswith("__"):  # TF's internal "__saved_model_init_op"
      continue
    result[name] = {
        "method_name": sig.method_name,
        "inputs": {k: spec(v) for k, v in sorted(sig.inputs.items())},
        "outputs": {k: spec(v) for k, v in sorted(sig.outputs.items())},
    }
  return result


def non_core_ops(saved_model_dir: str | os.PathLike) -> list[str]:
  """Op types the SavedModel's graph uses that stock TensorFlow does not register.

  Such ops come from libraries like tensorflow_text, which must be imported
  before the model loads (and which a stock TF Serving lacks). `tf.raw_ops`
  lists exactly the core ops.
  """
  import tensorflow as tf
  from tensorflow.core.protobuf import saved_model_pb2

  proto = saved_model_pb2.SavedModel()
  proto.ParseFromString(_read_bytes(versions.join(saved_model_dir, "saved_model.pb")))
  ops = set()
  for graph in proto.meta_graphs:
    ops.update(node.op for node in graph.graph_def.node)
    for function in graph.graph_def.library.function:
      ops.update(node.op for node in function.node_def)
  return sorted(ops - set(dir(tf.raw_ops)))


def build(*, model_name: str, version: int, domain: str, signatures: dict, config: Any = None,
          data_fingerprint: str | None = None, metrics: Mapping | None = None,
          baseline_metrics: Mapping | None = None, custom_ops: list[str] | None = None,
          assets: list[str] | None = None, extra: Mapping | None = None,
          custom_op_names: list[str] | None = None) -> dict:
  """Assembles the metadata dict (see the module docstring for the fields)."""
  import tensorflow as tf

  if dataclass_fields := getattr(config, "__dataclass_fields__", None):
    config = {k: getattr(config, k) for k in dataclass_fields}
  return {
      "format_version": FORMAT_VERSION,
      "model_name": model_name,
      "version": int(version),
      "domain": domain,
      "signatures": signatures,
      "config": to_json_value(config or {}, "config"),
      "data_fingerprint": data_fingerprint,
      "metrics": to_json_value(metrics or {}, "metrics"),
      "baseline_metrics": to_json_value(baseline_metrics or {}, "baseline_metrics"),
      "source_revision": source_revision(),
      "created_at": utc_now_iso(),
      "tensorflow_version": tf.__version__,
      "custom_ops": list(custom_ops or []),
      "custom_op_names": list(custom_op_names or []),
      "assets": list(assets or []),
      "extra": to_json_value(extra or {}, "extra"),
  }


def write(version_dir: str | os.PathLike, meta: Mapping) -> pathlib.Path | str:
  """Writes `<version_dir>/assets.extra/metadata.json` and returns its path."""
  text = json.dumps(meta, indent=2, sort_keys=True, allow_nan=False) + "\n"
  path = versions.join(version_dir, *RELATIVE_PATH.parts)
  if versions.is_local(version_dir):
    path.parent.mkdir(parents=True, exist_ok=True)  # local: is_local above
    path.write_text(text)  # local: is_local above
    return path
  import tensorflow as tf

  tf.io.gfile.makedirs(versions.join(version_dir, RELATIVE_PATH.parts[0]))
  with tf.io.gfile.GFile(path, "w") as f:
    f.write(text)
  return path


def _read_bytes(path: pathlib.Path | str) -> bytes:
  """A file's bytes: directly when local, through tf.io.gfile for a URL."""
  if versions.is_local(path):
    return pathlib.Path(path).read_bytes()  # local: is_local above
  import tensorflow as tf

  with tf.io.gfile.GFile(path, "rb") as f:
    return f.read()


def _exists(path: pathlib.Path | str) -> bool:
  if versions.is_local(path):
    return pathlib.Path(path).is_file()  # local: is_local above
  import tensorflow as tf

  return tf.io.gfile.exists(path)


def read(export_dir: str | os.PathLike) -> dict:
  """Reads an export's metadata.

  Args:
    export_dir: `<export_root>/<model_name>/<version>`, or the model directory
      (then the newest version is read).

  Returns:
    The metadata dict, with at least the keys in REQUIRED_KEYS.

  Raises:
    MetadataError: the directory is not an export, or its metadata is missing,
      corrupt, incomplete or from a newer format.
  """
  try:
    version_dir = versions.resolve(export_dir)
  except versions.ExportLayoutError as e:
    raise MetadataError(str(e)) from e
  path = versions.join(version_dir, *RELATIVE_PATH.parts)
  if not _exists(path):
    raise MetadataError(
        f"{version_dir} has no {RELATIVE_PATH}: it was not exported with "
        "common.export.publish.export_saved_model (re-export the model with it), or, on an "
        "object store, its export is still being written (metadata.json is written last)")
  try:
    meta = json.loads(_read_bytes(path).decode("utf-8"))
  except (OSError, json.JSONDecodeError) as e:
    raise MetadataError(f"{path} is not readable JSON ({e}); re-export the model") from e
  if not isinstance(meta, dict):
    raise MetadataError(f"{path} holds a {type(meta).__name__}, not a JSON object; re-export")
  missing = [k for k in REQUIRED_KEYS if k not in meta]
  if missing:
    raise MetadataError(f"{path} lacks {', '.join(missing)}; re-export the model with "
                        "common.export.publish.export_saved_model")
  if meta["format_version"] > FORMAT_VERSION:
    raise MetadataError(f"{path} has format_version {meta['format_version']}, newer than this "
                        f"reader ({FORMAT_VERSION}); update trellis to read it")
  return meta
