"""Starts the model server on an export root.

    bazel run //serving:server -- --export_root=/tmp/trellis/exports
    bazel run //serving:server -- --export_root=... --models=vision_resnet20 \
        --enable_batching --max_batch_size=32 --batch_timeout_micros=1000

Domains start it on their own exports from their `serve.py`:

    server_main.main(default_model_names=["vision_resnet20"])

Flags use argparse (not absl) so `main` can be called more than once in one
process (domain serve targets, tests) without global flag state.
"""

import argparse
import logging
import os
import pathlib
import signal
import sys
import threading
from collections.abc import Sequence

import tensorflow as tf

from serving.core import logs
from serving.core.inference import BatchingOptions
from serving.core.server import DEFAULT_MAX_TENSOR_BYTES, ModelServer, ServerOptions
from serving.rest.server import RestLimits
from serving.versions.watcher import VersionPolicy

log = logging.getLogger(__name__)


def user_location(path: str) -> str:
  """A directory the server reads through TensorFlow's file systems: a URL (gs://, ram://) as
  typed, a local path as `user_path` resolves it."""
  return path if "://" in path else str(user_path(path))


def user_path(path: str) -> pathlib.Path:
  """A path as the user typed it: under `bazel run` the process runs in the runfiles
  tree, so relative paths are taken from the directory the command was run in."""
  p = pathlib.Path(path).expanduser()
  if not p.is_absolute() and (cwd := os.environ.get("BUILD_WORKING_DIRECTORY")):
    return pathlib.Path(cwd) / p
  return p


def _model_tensor_limits(values: Sequence[str]) -> dict[str, int]:
  """`--model_max_tensor_bytes MODEL:BYTES` values as {model: bytes}."""
  limits = {}
  for value in values:
    name, sep, size = value.partition(":")
    try:
      limits[name] = int(size)
      if not sep or not name or limits[name] <= 0:
        raise ValueError
    except ValueError:
      raise SystemExit(
          f"error: --model_max_tensor_bytes {value!r} is not MODEL:BYTES with BYTES > 0, e.g. "
          "--model_max_tensor_bytes=vision_resnet50:67108864") from None
  return limits


def _pins(values: Sequence[str]) -> dict[str, tuple[int, ...]]:
  pins = {}
  for value in values:
    name, sep, versions = value.partition(":")
    try:
      pins[name] = tuple(int(v) for v in versions.split(","))
      if not sep or not name:
        raise ValueError
    except ValueError:
      raise argparse.ArgumentTypeError(
          f"--pin {value!r} is not MODEL:VERSION[,VERSION...], e.g. --pin vision_resnet20:3") from None
  return pins


def build_parser(default_export_root=None, default_model_names=None) -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(prog="server", description=__doc__.splitlines()[0])
  p.add_argument("--export_root", default=default_export_root or os.environ.get("TRELLIS_EXPORT_ROOT"),
                 help="directory holding <model>/<version>/saved_model.pb (env TRELLIS_EXPORT_ROOT)")
  domain = ",".join(default_model_names or [])
  p.add_argument("--models", default=None,
                 help="comma-separated model names to serve, each required to be exported; "
                      + (f"default: those of {domain} found under --export_root" if domain
                         else "default: every model found"))
  p.set_defaults(domain_models=tuple(default_model_names or ()))
  p.add_argument("--host", default="localhost",
                 help="interface to bind; 0.0.0.0 exposes the server to the network")
  p.add_argument("--port", type=int, default=8500, help="gRPC port (0 = any free port)")
  p.add_argument("--rest_port", type=int, default=8501, help="REST port (0 = any, -1 = no REST)")
  p.add_argument("--num_latest_versions", type=int, default=1,
                 help="serve the newest N loadable versions of each model")
  p.add_argument("--pin", action="append", default=[], metavar="MODEL:V[,V]",
                 help="serve exactly these versions of MODEL (repeatable)")
  p.add_argument("--poll_seconds", type=float, default=2.0,
                 help="how often to look for new versions; 0 disables hot reload")
  p.add_argument("--enable_batching", action="store_true",
                 help="batch concurrent requests to signatures with a batch dimension")
  p.add_argument("--max_batch_size", type=int, default=32)
  p.add_argument("--batch_timeout_micros", type=int, default=1000,
                 help="how long the first request of a batch waits for more")
  p.add_argument("--num_batch_threads", type=int, default=1)
  p.add_argument("--batch_always_wait", action="store_true",
                 help="wait batch_timeout even when requests do not overlap (TF Serving's way); "
                      "by default a lone client's requests run at once")
  p.add_argument("--max_request_bytes", type=int, default=16 * 1024 * 1024)
  p.add_argument("--max_tensor_bytes", type=int, default=DEFAULT_MAX_TENSOR_BYTES,
                 help="largest size the input tensors of one gRPC Predict request may decode to; "
                      "checked against each TensorProto's declared shape before anything is "
                      "allocated (RESOURCE_EXHAUSTED beyond it)")
  p.add_argument("--model_max_tensor_bytes", action="append", default=[], metavar="MODEL:BYTES",
                 help="a model's own limit in place of --max_tensor_bytes (repeat per model), "
                      "e.g. a small one for a model whose requests are a few rows")
  p.add_argument("--max_concurrent_requests", type=int, default=256)
  p.add_argument("--num_threads", type=int, default=16, help="gRPC handler threads")
  p.add_argument("--bearer_token_file", help="file holding the token clients must send")
  p.add_argument("--tls_cert", help="PEM certificate chain (with --tls_key enables TLS)")
  p.add_argument("--tls_key", help="PEM private key")
  rest = RestLimits()
  p.add_argument("--rest_header_timeout_seconds", type=float, default=rest.header_seconds,
                 help="REST: the request head must arrive within this many seconds of the "
                      "connection opening or the previous response (cuts slowloris and idle "
                      "keep-alive connections)")
  p.add_argument("--rest_body_timeout_seconds", type=float, default=rest.body_seconds,
                 help="REST: the whole request body must arrive within this many seconds")
  p.add_argument("--rest_max_connections", type=int, default=rest.max_connections,
                 help="REST: open connections beyond this are answered 503 and closed")
  p.add_argument("--grace_seconds", type=float, default=10.0,
                 help="on SIGTERM/SIGINT, how long in-flight requests may take to finish")
  p.add_argument("--log_level", default="INFO")
  return p


def _model_names(args: argparse.Namespace, root: str) -> tuple[str, ...] | None:
  """The models to serve: `--models` as given (each must appear), else the domain's exported ones.

  A domain's serve target lists every model the domain can export (say the ETT forecaster and
  the shop-world one) but a given export root usually holds a few of them; waiting for the
  missing ones would leave the server's overall health NOT_SERVING forever.
  """
  if args.models is not None:
    return tuple(m for m in args.models.split(",") if m) or None
  domain = args.domain_models  # set by build_parser for every parser it makes
  if not domain:
    return None  # every model found, now or later
  present = tuple(m for m in domain if tf.io.gfile.isdir(f"{root.rstrip('/')}/{m}"))
  if not present:
    raise SystemExit(f"error: --export_root {root} holds none of this target's models "
                     f"({', '.join(domain)}); export one first or name others with --models")
  return present


def options_from_args(args: argparse.Namespace) -> ServerOptions:
  if not args.export_root:
    raise SystemExit("error: --export_root is required (or set TRELLIS_EXPORT_ROOT); it is the "
                     "directory `bazel run //<domain>:export` published to")
  root = user_location(args.export_root)
  if not tf.io.gfile.isdir(root):
    raise SystemExit(f"error: --export_root {root} is not a directory; export a model first "
                     "(e.g. `bazel run //vision:export`) or fix the path")
  token = None
  if args.bearer_token_file:
    token = user_path(args.bearer_token_file).read_text().strip()
    if not token:
      raise SystemExit(f"error: --bearer_token_file {args.bearer_token_file} is empty")
    if not (args.tls_cert and args.tls_key):
      log.warning(
          "--bearer_token_file is set without TLS: the token crosses the network in clear text "
          "on both the gRPC and the REST port, and anyone who can see the traffic can replay it. "
          "Add --tls_cert=<PEM certificate chain> --tls_key=<PEM private key> (clients then use "
          "https:// and TLS channel credentials), or serve only on localhost (--host=localhost)")
  for flag in ("rest_header_timeout_seconds", "rest_body_timeout_seconds", "rest_max_connections",
               "max_tensor_bytes"):
    if getattr(args, flag) <= 0:
      raise SystemExit(f"error: --{flag} must be positive, got {getattr(args, flag)}")
  try:
    policy = VersionPolicy(num_latest=args.num_latest_versions, pinned=_pins(args.pin))
  except (ValueError, argparse.ArgumentTypeError) as e:
    raise SystemExit(f"error: {e}") from None
  return ServerOptions(
      export_root=root,
      model_names=_model_names(args, root),
      host=args.host, port=args.port, rest_port=None if args.rest_port < 0 else args.rest_port,
      policy=policy, poll_seconds=args.poll_seconds,
      batching=BatchingOptions(enabled=args.enable_batching, max_batch_size=args.max_batch_size,
                               batch_timeout=args.batch_timeout_micros / 1e6,
                               num_threads=args.num_batch_threads,
                               always_wait=args.batch_always_wait),
      max_request_bytes=args.max_request_bytes, max_tensor_bytes=args.max_tensor_bytes,
      model_max_tensor_bytes=_model_tensor_limits(args.model_max_tensor_bytes),
      max_concurrent_requests=args.max_concurrent_requests, num_threads=args.num_threads,
      bearer_token=token, tls_cert=args.tls_cert and user_path(args.tls_cert),
      tls_key=args.tls_key and user_path(args.tls_key),
      rest_limits=RestLimits(header_seconds=args.rest_header_timeout_seconds,
                             body_seconds=args.rest_body_timeout_seconds,
                             max_connections=args.rest_max_connections))


def main(argv: Sequence[str] | None = None, *, default_export_root: str | None = None,
         default_model_names: Sequence[str] | None = None) -> int:
  """Parses flags, serves until SIGTERM/SIGINT, then shuts down gracefully."""
  args = build_parser(default_export_root, default_model_names).parse_args(
      sys.argv[1:] if argv is None else argv)
  logs.setup(args.log_level)
  server = ModelServer(options_from_args(args)).start()
  # Handlers first: whoever reads the ports below may send SIGTERM at once, and before the
  # handler is in place that kills the process instead of draining it.
  stop = threading.Event()
  for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, lambda *_: stop.set())
  # Ports are printed on stdout so scripts (and tests) that ask for port 0 can find them.
  print(f"grpc_port={server.port} rest_port={server.rest_port}", flush=True)
  while not stop.wait(1.0):  # a timed wait lets the signal handler run promptly
    pass
  server.stop(args.grace_seconds)
  return 0


if __name__ == "__main__":
  sys.exit(main())
