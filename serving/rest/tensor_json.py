"""TensorFlow Serving's REST/JSON tensor encoding, to and from numpy.

The request body of `:predict` carries either
  * `"instances"`: a list of rows (row format). With one input a row is the
    value itself; with several inputs a row is `{"input_name": value, ...}`;
  * `"inputs"`: columns (columnar format): `{"input_name": batch_value}` or,
    with one input, the bare batch value.
Binary strings are written `{"b64": "<base64>"}`. Replies use `"predictions"`
(rows) for `instances` and `"outputs"` (columns) for `inputs`; string outputs
are plain JSON strings when they are valid UTF-8 and the output name does not
end in `_bytes`, otherwise `{"b64": ...}` (TF Serving's rule).
See https://www.tensorflow.org/tfx/serving/api_rest.
"""

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from serving.core import errors
from serving.core.signature import Signature


def parse_body(raw: bytes) -> Any:
  """The JSON value of a request body; every way it can be unreadable is a 400.

  Bytes that are not UTF-8 are named by offset (json.loads would otherwise guess
  UTF-16/32 from the first bytes, or fail deep inside with a UnicodeDecodeError);
  nesting beyond the interpreter's recursion limit (100k "[") is a RecursionError
  in the C scanner, caught here rather than answered as a server fault.
  """
  try:
    text = raw.decode("utf-8")
  except UnicodeDecodeError as e:
    raise errors.invalid_argument(
        f"request body is not UTF-8: byte {e.start} is {raw[e.start:e.start + 1]!r}; send JSON "
        "encoded as UTF-8, with binary values as {\"b64\": \"<base64>\"}") from None
  try:
    return json.loads(text)
  except json.JSONDecodeError as e:
    raise errors.invalid_argument(f"request body is not valid JSON: {e}") from None
  except RecursionError:
    raise errors.invalid_argument(
        "request body is not valid JSON: arrays/objects are nested too deeply; a tensor needs "
        "one level per dimension") from None


def _check_text(value: str, field: str) -> str:
  """Strings a client sends must be encodable; JSON's \\ud800 escapes can make lone surrogates."""
  try:
    value.encode("utf-8")
  except UnicodeEncodeError as e:
    raise errors.invalid_argument(
        f"{field} holds a lone UTF-16 surrogate (\\u{ord(value[e.start]):04x} at character "
        f"{e.start}); send valid Unicode text, or binary data as {{\"b64\": \"<base64>\"}}") from None
  return value


def signature_name(body: Any) -> str:
  """The request's "signature_name" ("" = the default signature)."""
  name = body.get("signature_name", "") if isinstance(body, dict) else ""
  if not isinstance(name, str):
    raise errors.invalid_argument("\"signature_name\" must be a string")
  return _check_text(name, "\"signature_name\"")


def _decode_b64(value: Any) -> Any:
  if isinstance(value, dict):
    if set(value) != {"b64"} or not isinstance(value["b64"], str):
      raise errors.invalid_argument(
          f"a JSON object inside a tensor value must be {{\"b64\": \"<base64>\"}}, got {value!r:.80}")
    try:
      return base64.b64decode(value["b64"], validate=True)
    except binascii.Error as e:
      raise errors.invalid_argument(f"invalid base64 in {{\"b64\": ...}} value: {e}") from e
  if isinstance(value, list):
    return [_decode_b64(v) for v in value]
  if isinstance(value, str):
    return value.encode("utf-8")
  return value


def _to_array(sig: Signature, key: str, value: Any) -> np.ndarray:
  spec = sig.inputs[key]
  try:
    value = _decode_b64(value)  # a lone surrogate is a UnicodeEncodeError, a ValueError
    if spec.dtype == tf.string:
      array = np.array(value, dtype=object)
      if array.size and not all(isinstance(v, bytes) for v in array.flat):
        raise ValueError("expected strings or {\"b64\": ...} values")
    else:
      array = np.array(value)
      if array.dtype.kind in ("O", "U", "S"):
        raise ValueError(f"expected numbers for {spec.dtype.name}")
      array = array.astype(spec.dtype.as_numpy_dtype, copy=False)
  except RecursionError:
    raise errors.invalid_argument(
        f"input {key!r} of {sig.describe()} is nested too deeply to be a tensor") from None
  except (ValueError, TypeError, OverflowError) as e:
    raise errors.invalid_argument(
        f"input {key!r} of {sig.describe()} cannot be read as {spec.dtype.name} "
        f"({str(e).splitlines()[0]}); rows must be nested lists of equal length") from e
  return array


def request_to_inputs(body: Any, sig: Signature) -> tuple[dict[str, np.ndarray], str]:
  """Parses a `:predict` body; returns (inputs, "row" | "columnar")."""
  if not isinstance(body, dict):
    raise errors.invalid_argument("the request body must be a JSON object with \"instances\" or \"inputs\"")
  has_instances, has_inputs = "instances" in body, "inputs" in body
  if has_instances == has_inputs:
    raise errors.invalid_argument(
        "the request body needs exactly one of \"instances\" (list of rows) or \"inputs\" (columns)")
  names = sorted(sig.inputs)
  if has_instances:
    rows = body["instances"]
    if not isinstance(rows, list) or not rows:
      raise errors.invalid_argument("\"instances\" must be a non-empty list of rows")
    if all(isinstance(r, dict) and "b64" not in r for r in rows):
      columns = {}
      for name in {k for r in rows for k in r}:
        if not all(name in r for r in rows):
          raise errors.invalid_argument(f"input {name!r} is missing from some instances; every row "
                                        f"needs all of {names}")
        columns[name] = [r[name] for r in rows]
    elif len(names) == 1:
      columns = {names[0]: rows}
    else:
      raise errors.invalid_argument(
          f"{sig.describe()} has inputs {names}: each instance must be an object naming them")
    return {k: _to_array(sig, k, v) for k, v in columns.items() if k in sig.inputs} | {
        k: np.asarray(0) for k in columns if k not in sig.inputs}, "row"
  columns = body["inputs"]
  if not (isinstance(columns, dict) and "b64" not in columns):
    if len(names) != 1:
      raise errors.invalid_argument(
          f"{sig.describe()} has inputs {names}: \"inputs\" must be an object naming them")
    columns = {names[0]: columns}
  return {k: (_to_array(sig, k, v) if k in sig.inputs else np.asarray(0))
          for k, v in columns.items()}, "columnar"


def _jsonable(name: str, value: np.ndarray) -> Any:
  if value.dtype.kind in ("O", "S"):
    binary = name.endswith("_bytes")

    def encode(b):
      if not binary:
        try:
          return b.decode("utf-8")
        except UnicodeDecodeError:
          pass
      return {"b64": base64.b64encode(b).decode("ascii")}

    return np.vectorize(encode, otypes=[object])(value).tolist() if value.size else value.tolist()
  return value.tolist()


def outputs_to_response(outputs: Mapping[str, np.ndarray], fmt: str) -> dict[str, Any]:
  """The `:predict` reply for the request's format."""
  if fmt == "columnar":
    columns = {k: _jsonable(k, v) for k, v in outputs.items()}
    return {"outputs": next(iter(columns.values())) if len(columns) == 1 else columns}
  sizes = {v.shape[0] if v.ndim else None for v in outputs.values()}
  if len(sizes) != 1 or None in sizes:
    raise errors.invalid_argument(
        "the signature's outputs do not share a batch dimension, so they cannot be returned as "
        "rows; send \"inputs\" (columnar format) instead of \"instances\"")
  columns = {k: _jsonable(k, v) for k, v in outputs.items()}
  if len(columns) == 1:
    return {"predictions": next(iter(columns.values()))}
  n = sizes.pop()
  return {"predictions": [{k: c[i] for k, c in columns.items()} for i in range(n)]}
