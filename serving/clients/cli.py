"""Command line client for the model server.

    bazel run //serving:client -- predict --model affine --input '{"x": [[1, 2, 3]]}'
    bazel run //serving:client -- predict --model text --input @request.json --rest
    bazel run //serving:client -- status --model affine
    bazel run //serving:client -- metadata --model affine

`--input` is JSON in the REST "inputs" (columnar) shape: {"name": value}, or a
bare value for a one-input signature; bytes as {"b64": "..."}; `@file` reads a
file. Over gRPC, numbers are cast to the signature's dtypes (read from
GetModelMetadata), as JSON has no float32. Results print as JSON.
"""

import argparse
import base64
import json
import sys

import numpy as np

from serving.clients import model_client as client_lib
from serving.core import server_main
from serving.core.errors import ServingError


def _decode(value):
  if isinstance(value, dict) and set(value) == {"b64"}:
    return base64.b64decode(value["b64"])
  if isinstance(value, list):
    return [_decode(v) for v in value]
  return value


def _jsonable(array: np.ndarray):
  if array.dtype.kind == "O":
    return np.vectorize(lambda b: b.decode("utf-8", errors="replace"), otypes=[object])(array).tolist()
  return array.tolist()


def _read_input(text: str):
  if text.startswith("@"):
    text = server_main.user_path(text[1:]).read_text()
  try:
    return json.loads(text)
  except json.JSONDecodeError as e:
    raise SystemExit(f"error: --input is not valid JSON ({e}); e.g. --input '{{\"x\": [[1, 2, 3]]}}'") from None


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="client", description=__doc__.splitlines()[0])
  parser.add_argument("command", choices=["predict", "status", "metadata", "health"])
  parser.add_argument("--model", help="model name (health: omit for the whole server)")
  parser.add_argument("--version", type=int, help="pin a version (default: latest)")
  parser.add_argument("--signature", default="", help="signature name (default serving_default)")
  parser.add_argument("--input", help="JSON inputs for predict, or @file.json")
  parser.add_argument("--server", default="localhost:8500", help="gRPC host:port")
  parser.add_argument("--rest", action="store_true", help="use the REST front instead of gRPC")
  parser.add_argument("--rest_url", default="http://localhost:8501")
  parser.add_argument("--token_file", help="file with the server's bearer token")
  parser.add_argument("--timeout", type=float, default=10.0, help="seconds")
  args = parser.parse_args(argv)
  if args.command != "health" and not args.model:
    parser.error(f"{args.command} needs --model")
  token = server_main.user_path(args.token_file).read_text().strip() if args.token_file else None
  try:
    if args.rest:
      rest = client_lib.RestClient(args.rest_url, token=token, timeout=args.timeout)
      if args.command == "predict":
        if args.input is None:
          parser.error("predict needs --input")
        result = rest.predict(args.model, inputs=_read_input(args.input), signature=args.signature,
                              version=args.version)
      elif args.command == "status":
        result = rest.status(args.model, args.version)
      elif args.command == "metadata":
        result = rest.metadata(args.model, args.version)
      else:
        parser.error("health is gRPC only; drop --rest")
    else:
      with client_lib.ModelClient(args.server, token=token, timeout=args.timeout) as c:
        if args.command == "predict":
          if args.input is None:
            parser.error("predict needs --input")
          raw = _read_input(args.input)
          dtypes = c.input_dtypes(args.model, args.signature, args.version)
          if not isinstance(raw, dict) or set(raw) - set(dtypes):
            if len(dtypes) != 1:
              parser.error(f"--input must name the inputs {sorted(dtypes)}")
            raw = {next(iter(dtypes)): raw}
          inputs = {k: np.asarray(_decode(v), dtype=object if dtypes[k].name == "string"
                                  else dtypes[k].as_numpy_dtype) for k, v in raw.items()}
          outputs = c.predict(args.model, inputs, signature=args.signature, version=args.version)
          result = {k: _jsonable(v) for k, v in outputs.items()}
        elif args.command == "status":
          result = c.status(args.model, args.version)
        elif args.command == "metadata":
          result = c.metadata(args.model, args.version)
        else:
          result = c.health(args.model or "")
  except ServingError as e:
    print(f"error: {e.code.name}: {e.message}", file=sys.stderr)
    return 1
  print(json.dumps(result, indent=2))
  return 0


if __name__ == "__main__":
  sys.exit(main())
