"""A trellis export as a batch job sees it: its version directory, metadata, and the loaded model.

Local exports go through `common.export` (`versions.resolve`, `metadata.read`, `publish.load`,
which imports the custom ops the metadata lists, e.g. tensorflow_text). An export on
`gs://` (what Dataflow workers read) is resolved and read with `tf.io.gfile` in the same
layout: `<model_dir>/<version>/saved_model.pb` and `assets.extra/metadata.json`.
"""

from __future__ import annotations

import importlib
import json
import os

from common.export import metadata as metadata_lib
from common.export import versions


class ExportReadError(ValueError):
  """The export directory is not a trellis export; the message says what to pass."""


def _is_remote(path: str) -> bool:
  return "://" in path


def resolve(export_dir: str) -> str:
  """The version directory of a version directory, or the newest version of a model directory."""
  export_dir = str(export_dir).rstrip("/")
  if not _is_remote(export_dir):
    try:
      return str(versions.resolve(export_dir))
    except versions.ExportLayoutError as e:
      raise ExportReadError(f"--export_dir: {e}") from None
  import tensorflow as tf

  if tf.io.gfile.exists(f"{export_dir}/saved_model.pb"):
    return export_dir
  found = sorted(int(n.rstrip("/")) for n in (tf.io.gfile.listdir(export_dir)
                                              if tf.io.gfile.isdir(export_dir) else [])
                 if n.rstrip("/").isdigit())
  if not found:
    raise ExportReadError(f"--export_dir {export_dir} has no saved_model.pb and no integer version "
                          "subdirectories; pass <export_root>/<model_name>[/<version>]")
  return f"{export_dir}/{found[-1]}"


def read_metadata(version_dir: str) -> dict:
  """The export's metadata.json; for a plain SavedModel without it (one written by stock
  TensorFlow, or a test's), the signatures read from saved_model.pb, which is all a batch job
  needs (no custom ops are imported then)."""
  if not _is_remote(version_dir):
    try:
      return metadata_lib.read(version_dir)
    except metadata_lib.MetadataError as e:
      if not os.path.isfile(os.path.join(version_dir, "saved_model.pb")):  # local: branch above
        raise ExportReadError(f"--export_dir: {e}") from None
      return {"model_name": os.path.basename(os.path.dirname(version_dir)), "custom_ops": [],
              "signatures": metadata_lib.signatures_from_saved_model(version_dir)}
  import tensorflow as tf

  path = f"{version_dir}/{metadata_lib.RELATIVE_PATH}"
  if not tf.io.gfile.exists(path):
    raise ExportReadError(f"{version_dir} has no {metadata_lib.RELATIVE_PATH}; it is not a trellis "
                          "export (export it with the domain's export target)")
  with tf.io.gfile.GFile(path) as f:
    return json.load(f)


def read_asset(version_dir: str, name: str) -> bytes:
  import tensorflow as tf

  with tf.io.gfile.GFile(f"{version_dir}/assets/{name}", "rb") as f:
    return f.read()


def load(version_dir: str):
  """The loaded SavedModel (`.signatures[name](**inputs)`), custom ops imported first."""
  import tensorflow as tf

  if not _is_remote(version_dir):
    from common.export import publish  # lazy: it imports TensorFlow; metadata reads need none

    try:
      return publish.load(version_dir)
    except metadata_lib.MetadataError:
      return tf.saved_model.load(version_dir)  # a plain SavedModel (see read_metadata)

  for module in read_metadata(version_dir).get("custom_ops", []):
    importlib.import_module(module)
  return tf.saved_model.load(version_dir)
