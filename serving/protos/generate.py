"""Compiles serving's .proto files with grpcio-tools into checked-in Python modules.

    bazel run //serving:gen_protos          # rewrite the generated modules
    bazel run //serving:gen_protos -- --check   # exit 1 if any is stale

The generated `*_pb2.py` / `*_pb2_grpc.py` files live beside each .proto and are
committed, so importing `serving` needs no build step; `serving/protos_test.py`
compiles again into a temporary directory and fails when the two differ.
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile

import grpc_tools

# Files are compiled relative to the repo root, so the generated gRPC module
# imports its messages as `serving.protos.trellis.serving.v1...`.
PROTO_DIR = pathlib.PurePosixPath("serving/protos")


def repo_root() -> pathlib.Path:
  """The source tree: the workspace under `bazel run`, else this file's repo."""
  if workspace := os.environ.get("BUILD_WORKSPACE_DIRECTORY"):
    return pathlib.Path(workspace)
  return pathlib.Path(__file__).resolve().parents[2]


def proto_files(root: pathlib.Path) -> list[str]:
  return sorted(str(p.relative_to(root)) for p in (root / PROTO_DIR).rglob("*.proto"))


def compile_protos(root: pathlib.Path, out_dir: pathlib.Path) -> list[pathlib.Path]:
  """Runs protoc on every serving proto; returns the generated files (relative)."""
  include = pathlib.Path(grpc_tools.__file__).parent / "_proto"
  files = proto_files(root)
  args = [f"-I{root}", f"-I{include}", f"--python_out={out_dir}",
          f"--grpc_python_out={out_dir}", *[str(root / f) for f in files]]
  # In its own process: grpc_tools' compiler crashes (SIGSEGV) in a process that has already
  # imported TensorFlow (each brings its own protobuf C++), e.g. a pytest run over serving/.
  done = subprocess.run([sys.executable, "-m", "grpc_tools.protoc", *args], check=False,
                        capture_output=True, text=True)
  if done.returncode != 0:
    raise RuntimeError(f"protoc failed on {files}: {done.stderr.strip()}")
  return sorted(pathlib.Path(f[: -len(".proto")] + suffix)
                for f in files for suffix in ("_pb2.py", "_pb2_grpc.py"))


def stale_files(root: pathlib.Path) -> list[str]:
  """Generated modules whose checked-in text differs from a fresh compile."""
  with tempfile.TemporaryDirectory() as tmp:
    out = pathlib.Path(tmp)
    stale = []
    for rel in compile_protos(root, out):
      checked_in = root / rel
      if not checked_in.exists() or checked_in.read_bytes() != (out / rel).read_bytes():
        stale.append(str(rel))
    return stale


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--check", action="store_true", help="only report stale files")
  args = parser.parse_args(argv)
  root = repo_root()
  if args.check:
    stale = stale_files(root)
    for f in stale:
      print(f"stale: {f} (run `bazel run //serving:gen_protos`)")
    return 1 if stale else 0
  for rel in compile_protos(root, root):
    print(f"wrote {rel}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
