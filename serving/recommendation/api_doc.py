"""Renders the Recommendation API reference (API.md) from the .proto file.

    bazel run //serving/recommendation:api_doc            # rewrite API.md
    bazel run //serving/recommendation:api_doc -- --check # exit 1 if API.md is stale

The reference is generated, never hand-edited, so it cannot drift from the contract:
each RPC and message with the comments written above it in the .proto (read from the
descriptor's source info), field types and numbers, and the REST route for each RPC.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile

import grpc_tools
from google.protobuf import descriptor_pb2

PROTO = "serving/protos/trellis/serving/v1/recommendation_service.proto"
OUT = "serving/recommendation/API.md"
REST = {"Recommend": "POST /v1/recommend", "SimilarItems": "POST /v1/similar_items",
        "Rank": "POST /v1/rank", "RecordEvents": "POST /v1/events", "StreamEvents": "(gRPC only)"}
_TYPES = {v: k[len("TYPE_"):].lower() for k, v in descriptor_pb2.FieldDescriptorProto.Type.items()}


def repo_root() -> pathlib.Path:
  if workspace := os.environ.get("BUILD_WORKSPACE_DIRECTORY"):
    return pathlib.Path(workspace)
  return pathlib.Path(__file__).resolve().parents[2]


def _descriptor(root: pathlib.Path, tmp: pathlib.Path) -> descriptor_pb2.FileDescriptorProto:
  include = pathlib.Path(grpc_tools.__file__).parent / "_proto"
  out = tmp / "set.pb"
  # protoc in its own process: it crashes in a process that has already loaded TensorFlow
  # (as serving/protos/generate.py notes), which any test run beside a TF test is.
  done = subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{root}", f"-I{include}",
                         "--include_source_info", f"--descriptor_set_out={out}", str(root / PROTO)],
                        check=False, capture_output=True, text=True)
  if done.returncode != 0:
    raise RuntimeError(f"protoc failed on {PROTO}: {done.stderr.strip()}")
  return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file[0]


def _comments(fd: descriptor_pb2.FileDescriptorProto) -> dict[tuple, str]:
  return {tuple(loc.path): " ".join(line.strip() for line in loc.leading_comments.strip().splitlines())
          for loc in fd.source_code_info.location if loc.leading_comments}


def render(root: pathlib.Path) -> str:
  with tempfile.TemporaryDirectory() as tmp:
    fd = _descriptor(root, pathlib.Path(tmp))
  doc = _comments(fd)
  lines = [f"# Recommendation API reference (`{fd.package}`)", "",
           f"Generated from `{PROTO}` by `bazel run //serving/recommendation:api_doc`; do not edit.",
           "REST bodies are the protos' JSON mapping (field names as below).", "", "## RPCs", "",
           "| RPC | request | response | REST | description |", "|---|---|---|---|---|"]
  for si, service in enumerate(fd.service):
    for mi, m in enumerate(service.method):
      stream = "stream " if m.client_streaming else ""
      lines.append(f"| `{m.name}` | {stream}`{m.input_type.rsplit('.', 1)[-1]}` | "
                   f"`{m.output_type.rsplit('.', 1)[-1]}` | {REST.get(m.name, '')} | "
                   f"{doc.get((6, si, 2, mi), '')} |")
  lines += ["", "## Messages", ""]
  for i, msg in enumerate(fd.message_type):
    lines += [f"### {msg.name}", ""]
    if text := doc.get((4, i)):
      lines += [text, ""]
    lines += ["| field | type | # | description |", "|---|---|---|---|"]
    for j, f in enumerate(msg.field):
      kind = f.type_name.rsplit(".", 1)[-1] if f.type_name else _TYPES[f.type]
      if f.label == descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED:
        kind = f"repeated {kind}"
      elif f.proto3_optional:
        kind = f"optional {kind}"
      lines.append(f"| `{f.name}` | {kind} | {f.number} | {doc.get((4, i, 2, j), '')} |")
    lines.append("")
  return "\n".join(lines)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--check", action="store_true")
  args = parser.parse_args(argv)
  root = repo_root()
  text = render(root)
  if args.check:
    stale = (root / OUT).read_text() != text if (root / OUT).exists() else True
    if stale:
      print(f"{OUT} is stale: run `bazel run //serving/recommendation:api_doc`")
    return int(stale)
  (root / OUT).write_text(text)
  print(f"wrote {OUT}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
