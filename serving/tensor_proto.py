"""TensorProto <-> numpy conversion on the request path, without tf.make_tensor_proto's cost.

`tf.make_tensor_proto` / `tf.make_ndarray` are general (any Python value, any
encoding) and cost ~100 µs per tensor, as much as running a small model. For
the common case, numeric tensors in `tensor_content` (what every TF Serving
client sends), this reads and writes the raw bytes directly; anything else
(strings, the typed `*_val` fields, half precision) falls back to TensorFlow's
converters, so the result is always identical.
"""

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2

_FAST_DTYPES = {np.dtype(t): tf.as_dtype(t).as_datatype_enum
                for t in (np.float32, np.float64, np.int32, np.int64, np.uint8, np.int8,
                          np.int16, np.uint16, np.uint32, np.uint64, np.bool_)}
_FAST_ENUMS = {enum: dtype for dtype, enum in _FAST_DTYPES.items()}


def to_ndarray(proto: tensor_pb2.TensorProto) -> np.ndarray:
  """Like tf.make_ndarray; raises ValueError/TypeError on a malformed proto."""
  dtype = _FAST_ENUMS.get(proto.dtype)
  if dtype is not None and proto.tensor_content and not proto.tensor_shape.unknown_rank:
    shape = [d.size for d in proto.tensor_shape.dim]
    # np.frombuffer raises on a length that is not a multiple of the item size; reshape on a
    # count that does not match the shape.
    return np.frombuffer(proto.tensor_content, dtype=dtype).reshape(shape)
  return tf.make_ndarray(proto)


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
