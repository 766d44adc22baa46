"""TensorProto <-> numpy conversion on the request path: validated first, then decoded cheaply.

A TensorProto says what it holds twice: `tensor_shape` × `dtype` declares a size,
and `tensor_content` (raw bytes) or one repeated `*_val` field carries the
values. A client can make the two disagree: 67 bytes that claim a
[200000, 28, 10] float tensor make `tf.make_ndarray` pad its three values out to
224 MB. So `to_ndarray` checks, before allocating anything:

* the dtype is a real, decodable TensorFlow dtype and the shape has known,
  non-negative dims;
* the bytes or values sent match the declared shape: `tensor_content` has
  exactly shape × dtype-size bytes; a `*_val` field has one value per element
  or a single value, which fills the tensor (TensorFlow's broadcast rule, what
  `tf.make_tensor_proto(3.0, shape=[2, 2])` sends);
* the decoded size stays under a byte limit (per request, across its inputs).

A mismatch is INVALID_ARGUMENT and an oversized tensor RESOURCE_EXHAUSTED, both
naming the input and the field. The common case, numeric `tensor_content`
(what every TF Serving client sends), is read with `np.frombuffer` without a
copy; `tf.make_tensor_proto` / `tf.make_ndarray` cost ~100 µs per tensor, as
much as running a small model.
"""

import math
from collections.abc import Mapping

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, types_pb2

from serving.core import errors

# Largest decoded request (sum over its input tensors), unless the server sets another.
DEFAULT_MAX_TENSOR_BYTES = 256 * 1024 * 1024
_MAX_RANK = 32  # numpy's limit is 64; no served signature takes more than a handful of dims

_FAST_DTYPES = {np.dtype(t): tf.as_dtype(t).as_datatype_enum
                for t in (np.float32, np.float64, np.int32, np.int64, np.uint8, np.int8,
                          np.int16, np.uint16, np.uint32, np.uint64, np.bool_)}
_FAST_ENUMS = {enum: dtype for dtype, enum in _FAST_DTYPES.items()}

# dtype enum -> the repeated field holding its values, and numbers per element.
_VALUE_FIELDS = {
    types_pb2.DT_FLOAT: ("float_val", 1), types_pb2.DT_DOUBLE: ("double_val", 1),
    types_pb2.DT_INT32: ("int_val", 1), types_pb2.DT_UINT8: ("int_val", 1),
    types_pb2.DT_INT16: ("int_val", 1), types_pb2.DT_INT8: ("int_val", 1),
    types_pb2.DT_UINT16: ("int_val", 1), types_pb2.DT_INT64: ("int64_val", 1),
    types_pb2.DT_UINT32: ("uint32_val", 1), types_pb2.DT_UINT64: ("uint64_val", 1),
    types_pb2.DT_BOOL: ("bool_val", 1), types_pb2.DT_STRING: ("string_val", 1),
    types_pb2.DT_HALF: ("half_val", 1), types_pb2.DT_BFLOAT16: ("half_val", 1),
    types_pb2.DT_COMPLEX64: ("scomplex_val", 2), types_pb2.DT_COMPLEX128: ("dcomplex_val", 2),
}
_SUPPORTED = ", ".join(sorted(tf.as_dtype(e).name for e in _VALUE_FIELDS))


def _dtype_name(enum: int) -> str:
  return types_pb2.DataType.Name(enum) if enum in types_pb2.DataType.values() else str(enum)


def _check(proto: tensor_pb2.TensorProto, name: str) -> tuple[list[int], int]:
  """Validates dtype, shape and the values' count; returns (shape, decoded bytes)."""
  where = f"input {name!r}"
  if proto.dtype not in _VALUE_FIELDS:
    raise errors.invalid_argument(
        f"{where}: dtype {_dtype_name(proto.dtype)} is not supported in a request; use one of "
        f"{_SUPPORTED}")
  if proto.tensor_shape.unknown_rank:
    raise errors.invalid_argument(f"{where}: tensor_shape has unknown_rank; send the actual shape")
  if len(proto.tensor_shape.dim) > _MAX_RANK:
    raise errors.invalid_argument(
        f"{where}: tensor_shape has {len(proto.tensor_shape.dim)} dims, over the limit of {_MAX_RANK}")
  shape = [d.size for d in proto.tensor_shape.dim]
  if any(size < 0 for size in shape):
    raise errors.invalid_argument(
        f"{where}: tensor_shape {shape} has a negative (unknown) dim; a request tensor needs "
        "every dim's size")
  elements = math.prod(shape)
  field, per_element = _VALUE_FIELDS[proto.dtype]
  is_string = proto.dtype == types_pb2.DT_STRING
  itemsize = 8 if is_string else tf.as_dtype(proto.dtype).size  # strings: one pointer each
  if proto.tensor_content:
    if is_string:
      raise errors.invalid_argument(
          f"{where}: a DT_STRING tensor carries its values in string_val, not tensor_content")
    if len(proto.tensor_content) != elements * itemsize:
      raise errors.invalid_argument(
          f"{where}: tensor_content has {len(proto.tensor_content)} bytes but tensor_shape "
          f"{shape} × {tf.as_dtype(proto.dtype).name} needs {elements} × {itemsize} = "
          f"{elements * itemsize}; build the proto with tf.make_tensor_proto")
    return shape, elements * itemsize
  values = len(getattr(proto, field))
  if values % per_element:
    raise errors.invalid_argument(
        f"{where}: {field} has {values} numbers, not (real, imaginary) pairs")
  values //= per_element
  if not (values == elements or (values == 1 and elements > 0)):
    raise errors.invalid_argument(
        f"{where}: tensor_shape {shape} has {elements} elements but {field} has {values} "
        "value(s); send one value per element, or a single value to fill the tensor")
  nbytes = elements * itemsize
  if is_string:
    nbytes += sum(len(s) for s in proto.string_val)
  return shape, nbytes


def to_ndarray(proto: tensor_pb2.TensorProto, name: str = "tensor",
               max_bytes: int = DEFAULT_MAX_TENSOR_BYTES) -> np.ndarray:
  """Like tf.make_ndarray, for untrusted protos.

  Raises:
    ServingError: INVALID_ARGUMENT for a malformed or self-contradicting proto,
      RESOURCE_EXHAUSTED when it would decode to more than `max_bytes`.
  """
  return to_ndarrays({name: proto}, max_bytes)[name]


def to_ndarrays(protos: Mapping[str, tensor_pb2.TensorProto],
                max_bytes: int = DEFAULT_MAX_TENSOR_BYTES,
                limit_flag: str = "--max_tensor_bytes") -> dict[str, np.ndarray]:
  """Decodes a request's named tensors; every one is checked before any is decoded."""
  checked, total = [], 0
  for name, proto in protos.items():
    shape, nbytes = _check(proto, name)
    total += nbytes
    if total > max_bytes:
      raise errors.resource_exhausted(
          f"input {name!r}: tensor_shape {shape} of {_dtype_name(proto.dtype)} decodes to "
          f"{nbytes} bytes, and the request's inputs to at least {total}, over the server's "
          f"limit of {max_bytes} bytes ({limit_flag}); send fewer rows per request")
    checked.append((name, proto, shape))
  out = {}
  for name, proto, shape in checked:
    try:
      out[name] = _decode(proto, shape)
    except (ValueError, TypeError, OverflowError) as e:  # e.g. an int_val of 300 for uint8
      raise errors.invalid_argument(
          f"input {name!r} is not a valid TensorProto ({e}); build it with tf.make_tensor_proto"
      ) from e
  return out


def _decode(proto: tensor_pb2.TensorProto, shape: list[int]) -> np.ndarray:
  """Decodes a proto that passed `_check` (so sizes are bounded and consistent)."""
  dtype = _FAST_ENUMS.get(proto.dtype)
  if proto.tensor_content:
    if dtype is not None:
      return np.frombuffer(proto.tensor_content, dtype=dtype).reshape(shape)
    return tf.make_ndarray(proto)
  if dtype is None:
    # strings, half precision and complex: TensorFlow's converter, which pads a single value
    # out to the shape; `_check` bounded that size.
    return tf.make_ndarray(proto)
  field, _ = _VALUE_FIELDS[proto.dtype]
  values = np.fromiter(getattr(proto, field), dtype=dtype)
  if values.size == 1 and math.prod(shape) != 1:
    return np.full(shape, values[0], dtype=dtype)
  return values.reshape(shape)


def from_ndarray(value: np.ndarray) -> tensor_pb2.TensorProto:
  """Like tf.make_tensor_proto(value) for numpy arrays."""
  proto = tensor_pb2.TensorProto()
  fill(proto, value)
  return proto


def fill(proto: tensor_pb2.TensorProto, value: np.ndarray) -> None:
  """Writes `value` into an empty TensorProto in place (e.g. a response's map entry).

  Saves building a separate message and copying it in with CopyFrom.
  """
  enum = _FAST_DTYPES.get(value.dtype)
  if enum is None:
    proto.CopyFrom(tf.make_tensor_proto(value))
    return
  proto.dtype = enum
  proto.tensor_content = np.ascontiguousarray(value).tobytes()
  dims = proto.tensor_shape.dim
  for size in value.shape:
    dims.add(size=size)
