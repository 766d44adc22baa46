"""Property-based fuzzing of the TensorProto decoder: any proto decodes or is refused cleanly.

Whatever a client sends, `tensor_proto.to_ndarrays` returns arrays or raises a
`ServingError` of the INVALID_ARGUMENT class (INVALID_ARGUMENT or RESOURCE_EXHAUSTED),
never another exception, and never allocates much beyond its byte limit. The
examples are derandomized (the same ones on every run) and bounded, so the suite
takes seconds in CI.
"""

import tracemalloc

import grpc
import numpy as np
from google.protobuf import message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tensorflow.core.framework import tensor_pb2, types_pb2

from serving.core import errors, tensor_proto

LIMIT = 1 << 20  # bytes a request may decode to in these tests
# The decoder's own bookkeeping (protobuf repeated-field copies, numpy headers) on top of LIMIT.
SLACK = 1 << 20
FUZZ = settings(derandomize=True, max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

_VALUE_FIELDS = ["float_val", "double_val", "int_val", "int64_val", "uint32_val", "uint64_val",
                 "bool_val", "string_val", "half_val", "scomplex_val", "dcomplex_val"]
_DTYPES = [*sorted(types_pb2.DataType.values()), -1, 10_000]
_SIZES = st.one_of(st.integers(0, 4), st.integers(-2, 2**62), st.sampled_from([200000, 2**31]))


def _values(field: str):
  if field == "string_val":
    return st.lists(st.binary(max_size=8), max_size=6)
  if field == "bool_val":
    return st.lists(st.booleans(), max_size=6)
  if field in ("float_val", "double_val", "scomplex_val", "dcomplex_val"):
    return st.lists(st.floats(width=32), max_size=6)
  bits = {"int_val": (-2**31, 2**31 - 1), "half_val": (-2**31, 2**31 - 1),
          "int64_val": (-2**63, 2**63 - 1), "uint32_val": (0, 2**32 - 1),
          "uint64_val": (0, 2**64 - 1)}[field]
  return st.lists(st.integers(*bits), max_size=6)


@st.composite
def protos(draw) -> tensor_pb2.TensorProto:
  proto = tensor_pb2.TensorProto(dtype=draw(st.sampled_from(_DTYPES)))
  if draw(st.booleans()):
    proto.tensor_shape.unknown_rank = True
  for size in draw(st.lists(_SIZES, max_size=5)):
    proto.tensor_shape.dim.add(size=size)
  if draw(st.booleans()):
    proto.tensor_content = draw(st.binary(max_size=64))
  for field in draw(st.lists(st.sampled_from(_VALUE_FIELDS), max_size=2, unique=True)):
    getattr(proto, field).extend(draw(_values(field)))
  return proto


def _decode_or_refuse(inputs) -> None:
  tracemalloc.start()
  try:
    out = tensor_proto.to_ndarrays(inputs, max_bytes=LIMIT)
  except errors.ServingError as e:
    assert e.code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED), e
    assert "input '" in e.message, e.message  # names the input
  else:
    assert set(out) == set(inputs)
    for name, value in out.items():
      assert isinstance(value, np.ndarray)
      assert list(value.shape) == [d.size for d in inputs[name].tensor_shape.dim]
  finally:
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
  assert peak < LIMIT + SLACK, peak


@FUZZ
@given(st.dictionaries(st.sampled_from(["x", "y"]), protos(), min_size=1, max_size=2))
def test_any_proto_decodes_or_is_refused_within_the_limit(inputs):
  _decode_or_refuse(inputs)


@FUZZ
@given(st.binary(max_size=200))
def test_any_bytes_that_parse_as_a_tensor_proto_decode_or_are_refused(data):
  try:
    proto = tensor_pb2.TensorProto.FromString(data)
  except message.DecodeError:
    return  # gRPC answers a request that does not parse before the servicer runs
  _decode_or_refuse({"x": proto})
