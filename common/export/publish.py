"""Export a model as a versioned SavedModel in the TF Serving layout, and load one back.

    export_dir = publish.export_saved_model(
        model, signatures={"classify": classify_fn, "embed": embed_fn},
        export_root="/exports", model_name="vision_resnet20", domain="vision",
        config=cfg, metrics={"accuracy": 0.91}, baseline_metrics={"accuracy": 0.10},
        data_fingerprint=fingerprint, assets={"labels.txt": labels_path})
    # -> /exports/vision_resnet20/<next version>/
    #      saved_model.pb  variables/  assets/labels.txt  assets.extra/metadata.json

    loaded = publish.load(export_dir)   # imports recorded custom ops first
    loaded.signatures["classify"](image_bytes=...)

The version appears atomically (see `versions`): a server polling the model
directory sees either nothing or the complete version with its metadata.

`export_root` may be on any file system TensorFlow knows (gs://bucket/exports, ram://). Object
stores cannot rename a directory atomically, so there the version is written in place under its
number and `assets.extra/metadata.json` is written last: the model server treats a version
without it as still being written. A failed export deletes what it wrote.
"""

from __future__ import annotations

import importlib
import os
import pathlib
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import tensorflow as tf
from absl import logging

from common.export import metadata as metadata_lib
from common.export import versions
from common.export import warmup as warmup_lib

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ExportError(ValueError):
  """An export request is wrong in a way the caller can fix; the message says how."""


def _import_custom_ops(custom_ops: Sequence[str], what: str) -> None:
  for module in custom_ops:
    try:
      importlib.import_module(module)
    except ImportError as e:
      raise ExportError(
          f"{what} needs custom ops from {module!r}, which does not import ({e}); install it "
          f"(e.g. `pip install {module.replace('_', '-')}` pinned to the TensorFlow version) "
          "in the environment that loads the model") from e


# Libraries whose ops exports may use, and how their op names look in a graph.
_KNOWN_OP_LIBRARIES = {"tensorflow_text": "TFText>"}


def _custom_op_modules(op_names: Sequence[str], custom_ops: Sequence[str]) -> list[str]:
  """The modules to record: as given, or inferred when the graph needs some and none were given."""
  custom_ops = list(custom_ops)
  if not op_names or custom_ops:
    return custom_ops
  inferred = [module for module, prefix in _KNOWN_OP_LIBRARIES.items()
              if module in sys.modules and any(op.startswith(prefix) for op in op_names)]
  if not inferred:
    raise ExportError(
        f"the graph uses ops that core TensorFlow does not have ({', '.join(op_names)}); pass "
        "custom_ops=[<module that registers them>] so loaders import it first")
  # Recording it here is what lets the server (and publish.load) load the model.
  logging.info("export uses %s ops; recording custom_ops=%s", ", ".join(op_names), inferred)
  return inferred


def _check_request(signatures, model_name, domain, assets, custom_ops) -> None:
  if not _NAME_RE.match(model_name or ""):
    raise ExportError(f"model_name {model_name!r} must be letters, digits, '_', '.', '-' "
                      "(it is a directory name and a TF Serving model name), e.g. "
                      "'vision_resnet20'")
  if not domain:
    raise ExportError("domain must be set (e.g. 'vision', 'sequences', 'recsys')")
  if not signatures:
    raise ExportError("signatures is empty; pass {name: concrete_function}, e.g. "
                      "{'classify': model.classify.get_concrete_function(tf.TensorSpec([None], "
                      "tf.string))}")
  for name, fn in signatures.items():
    if not isinstance(fn, (tf.types.experimental.ConcreteFunction,
                           tf.types.experimental.PolymorphicFunction)):
      raise ExportError(f"signature {name!r} is a {type(fn).__name__}; pass a concrete function "
                        "(fn.get_concrete_function(spec)) or a tf.function with input_signature")
  for name, path in (assets or {}).items():
    if "/" in name or name.startswith("."):
      raise ExportError(f"asset name {name!r} must be a plain file name such as 'labels.txt'")
    if not tf.io.gfile.exists(os.fspath(path)) or tf.io.gfile.isdir(os.fspath(path)):
      raise ExportError(f"asset {name!r}: file {path} does not exist")
  _import_custom_ops(custom_ops or [], "the exported model")


def export_saved_model(
    module: tf.Module,
    signatures: Mapping[str, Any],
    *,
    export_root: str | os.PathLike,
    model_name: str,
    domain: str,
    config: Any = None,
    metrics: Mapping | None = None,
    baseline_metrics: Mapping | None = None,
    data_fingerprint: str | None = None,
    assets: Mapping[str, str | os.PathLike] | None = None,
    custom_ops: Sequence[str] = (),
    default_signature: str | None = None,
    version: int | None = None,
    extra_metadata: Mapping | None = None,
    warmup_requests: Mapping[str, Mapping[str, Any]] | None = None,
) -> pathlib.Path | str:
  """Saves `module` with `signatures` as the next version of `model_name`, atomically.

  Args:
    module: the tf.Module / tf.keras.Model that owns the variables.
    signatures: signature name -> concrete function (or tf.function with an
      input_signature). Inputs should be the raw data a client has.
    export_root: the directory TF Serving watches (holds one dir per model).
    model_name: TF Serving model name; also the directory name.
    domain: "vision", "sequences", "recsys", ...
    config: the resolved training config (ConfigDict, dict or dataclass).
    metrics: eval/test metrics of this model; baseline_metrics: the baseline's.
    data_fingerprint: identifies the training data.
    assets: extra files to copy into assets/ (name -> path), e.g. labels.txt.
    custom_ops: modules whose ops the graph uses (e.g. "tensorflow_text"); they
      are imported now (to fail early) and recorded so loaders import them.
      When omitted and the graph uses tensorflow_text ops, it is recorded
      automatically; other non-core ops without custom_ops are an error.
    default_signature: if set, also exported as "serving_default" (what TF
      Serving clients get when they name no signature).
    version: explicit version number; default: next integer.
    extra_metadata: domain-specific metadata, stored under "extra".
    warmup_requests: signature name -> {input name: a real raw input batch}; each is run on
      the model now and recorded as TF Serving's warm-up file (`warmup`), which servers replay
      before a new version takes traffic.

  Returns:
    The published `<export_root>/<model_name>/<version>` directory: a `pathlib.Path` for a
    local root, the URL string for another file system.

  Raises:
    ExportError: a bad argument, with what to pass instead.
  """
  signatures = dict(signatures)
  _check_request(signatures, model_name, domain, assets, custom_ops)
  if warmup_requests:
    try:
      warmup_lib.check(signatures, warmup_requests)
    except ValueError as e:
      raise ExportError(str(e)) from e
  if default_signature is not None:
    if default_signature not in signatures:
      raise ExportError(f"default_signature {default_signature!r} is not one of "
                        f"{sorted(signatures)}")
    signatures.setdefault("serving_default", signatures[default_signature])
  model_dir = versions.join(export_root, model_name)

  def write_files(directory) -> tuple[list[str], list[str]]:
    """Everything but metadata.json into `directory`; returns (non-core ops, their modules)."""
    tf.saved_model.save(module, os.fspath(directory), signatures=signatures)
    for name, path in (assets or {}).items():
      tf.io.gfile.makedirs(os.fspath(versions.join(directory, "assets")))
      tf.io.gfile.copy(os.fspath(path), os.fspath(versions.join(directory, "assets", name)),
                       overwrite=True)
    if warmup_requests:
      warmup_lib.write(directory, model_name, warmup_requests)
    op_names = metadata_lib.non_core_ops(directory)
    return op_names, _custom_op_modules(op_names, custom_ops)

  def write_metadata(number: int, directory, ops: tuple[list[str], list[str]]) -> None:
    op_names, modules = ops
    metadata_lib.write(directory, metadata_lib.build(
        model_name=model_name, version=number, domain=domain,
        signatures=metadata_lib.signatures_from_saved_model(directory), config=config,
        data_fingerprint=data_fingerprint, metrics=metrics, baseline_metrics=baseline_metrics,
        custom_ops=list(modules), assets=sorted(assets or {}), extra=extra_metadata,
        custom_op_names=op_names))

  if not versions.is_local(model_dir):
    return _publish_in_place(model_dir, version, write_files, write_metadata)
  versions.remove_stale_staging(model_dir)
  staging = versions.make_staging_dir(model_dir)
  try:
    ops = write_files(staging)
    return versions.publish(staging, model_dir, version=version,
                            before_rename=lambda number, directory: write_metadata(
                                number, directory, ops))
  finally:
    # On success the staging dir was renamed away; on any failure, remove it.
    shutil.rmtree(staging, ignore_errors=True)  # local: staging exists only on local roots


def _publish_in_place(model_dir: str, version: int | None, write_files, write_metadata) -> str:
  """Publishing on an object store: write `<model_dir>/<version>/`, metadata.json last.

  There is no atomic rename to hide a half-written version behind, so the last file marks it
  complete instead (the model server waits for metadata.json); a failed export is deleted.
  """
  try:
    number = versions.next_version(model_dir, version)
  except versions.ExportLayoutError as e:
    raise ExportError(str(e)) from e
  final = versions.join(model_dir, str(number))
  if tf.io.gfile.exists(final):
    raise ExportError(f"{final} exists but is not a complete version (an export crashed there "
                      "or is running now); delete it, or export again to take the next number")
  try:
    write_metadata(number, final, write_files(final))
  except BaseException:
    if tf.io.gfile.exists(final):
      tf.io.gfile.rmtree(final)
    raise
  return final


def load(export_dir: str | os.PathLike):
  """Loads an export with `tf.saved_model.load`, importing its recorded custom ops first.

  Args:
    export_dir: a version directory, or a model directory (newest version).

  Returns:
    The loaded object; call `.signatures[name](**inputs)`.

  Raises:
    metadata.MetadataError: not an export with metadata.
    ExportError: a recorded custom-op module is not installed.
  """
  version_dir = versions.resolve(export_dir)
  meta = metadata_lib.read(version_dir)
  _import_custom_ops(meta.get("custom_ops", []), f"{meta['model_name']} v{meta['version']}")
  return tf.saved_model.load(os.fspath(version_dir))
