"""Prints an exported model's signatures and metadata summary.

    bazel run //tools:show_export -- /path/to/exports/vision_resnet20       # newest version
    bazel run //tools:show_export -- /path/to/exports/vision_resnet20/3
    bazel run //tools:show_export -- --json /path/to/export                 # raw metadata.json

It reads only `assets.extra/metadata.json` (no TensorFlow, no custom ops), so
it is instant and works on exports whose ops are not installed here. The path may be
on any file system TensorFlow knows (gs://BUCKET/exports/vision_resnet20). For a
SavedModel without trellis metadata it falls back to reading the SignatureDefs
from saved_model.pb.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping

from absl import app, flags

from common.export import metadata as metadata_lib
from common.export import versions
from common.metrics import slices

_JSON = flags.DEFINE_bool("json", False, "print the raw metadata.json instead of a summary")


def _shape(dims) -> str:
  if dims is None:
    return "<unknown rank>"
  return "[" + ", ".join("?" if d < 0 else str(d) for d in dims) + "]"


def _flatten(tree: Mapping, prefix: str = "") -> dict[str, object]:
  flat = {}
  for key, value in tree.items():
    if isinstance(value, Mapping):
      flat.update(_flatten(value, f"{prefix}{key}."))
    else:
      flat[prefix + str(key)] = value
  return flat


def format_signatures(signatures: Mapping[str, Mapping]) -> list[str]:
  lines = []
  for name, sig in signatures.items():
    lines.append(f"  {name}" + (f"  ({sig['method_name']})" if sig.get("method_name") else ""))
    rows = [("in", k, v) for k, v in sig["inputs"].items()] + \
        [("out", k, v) for k, v in sig["outputs"].items()]
    width = max((len(k) for _, k, _ in rows), default=0)
    for direction, key, spec in rows:
      lines.append(f"    {direction:<3}  {key:<{width}}  {spec['dtype']:<8}  {_shape(spec['shape'])}")
  return lines


def summarize(path: str | os.PathLike) -> str:
  """The human-readable summary printed by this tool, for `path` (model or version dir)."""
  version_dir = os.fspath(versions.resolve(path))
  model_dir = os.path.dirname(version_dir)
  try:
    meta = metadata_lib.read(version_dir)
  except metadata_lib.MetadataError as e:
    import tensorflow as tf  # the fallback reads saved_model.pb, which needs TensorFlow anyway

    if not tf.io.gfile.exists(os.path.join(version_dir, "saved_model.pb")):
      raise
    lines = [f"{version_dir}", f"note: {e}", "", "signatures (from saved_model.pb)"]
    return "\n".join(lines + format_signatures(
        metadata_lib.signatures_from_saved_model(version_dir)))
  available = versions.list_versions(model_dir)
  lines = [
      f"{meta['model_name']}  version {meta['version']}  (versions here: "
      f"{', '.join(map(str, available)) or 'none'})",
      f"  path          {version_dir}",
      f"  domain        {meta['domain']}",
      f"  created       {meta['created_at']}",
      f"  source        {meta.get('source_revision', 'unknown')}",
      f"  tensorflow    {meta.get('tensorflow_version', 'unknown')}",
      f"  data          {meta.get('data_fingerprint') or 'not recorded'}",
      f"  custom ops    {', '.join(meta.get('custom_ops') or []) or 'none'}"
      + ("  (import before loading; publish.load does)" if meta.get("custom_ops") else ""),
      *([f"  non-core ops  {', '.join(meta['custom_op_names'])}"]
        if meta.get("custom_op_names") else []),
      f"  assets        {', '.join(meta.get('assets') or []) or 'none'}",
      "",
      "signatures",
      *format_signatures(meta["signatures"]),
  ]
  model, baseline = _flatten(meta.get("metrics") or {}), _flatten(
      meta.get("baseline_metrics") or {})
  if model or baseline:
    rows = {name: {"model": model.get(name), "baseline": baseline.get(name)}
            for name in dict.fromkeys([*model, *baseline])}
    table = slices.format_table(rows, ratios=[("model", "baseline")], key_header="metric")
    lines += ["", "metrics", *("  " + line for line in table.splitlines())]
  config = _flatten(meta.get("config") or {})
  if config:
    lines += ["", "config", *(f"  {k} = {json.dumps(v)}" for k, v in config.items())]
  return "\n".join(lines)


def main(argv: list[str]) -> int:
  if len(argv) != 2:
    raise app.UsageError("pass one export path: <export_root>/<model_name>[/<version>]")
  path = argv[1]
  if "://" not in path and not os.path.isabs(path) and os.environ.get("BUILD_WORKING_DIRECTORY"):
    # `bazel run` executes in the runfiles tree; resolve what the user typed where they typed it.
    path = os.path.join(os.environ["BUILD_WORKING_DIRECTORY"], path)
  try:
    if _JSON.value:
      print(json.dumps(metadata_lib.read(path), indent=2, sort_keys=True))
    else:
      print(summarize(path))
  except (versions.ExportLayoutError, metadata_lib.MetadataError) as e:
    print(f"show_export: {e}", file=sys.stderr)
    return 1
  return 0


if __name__ == "__main__":
  app.run(main)
