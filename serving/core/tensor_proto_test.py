"""The fast TensorProto conversions agree with TensorFlow's own."""

import time
import tracemalloc

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, types_pb2

from serving.core import errors, tensor_proto


@pytest.mark.parametrize("value", [
    np.arange(6, dtype=np.float32).reshape(2, 3),
    np.array([[1, -2]], np.int64),
    np.array(3.5, np.float64),            # scalar
    np.zeros((0, 4), np.int32),           # empty batch
    np.array([True, False]),
    np.array([b"a", b"\xff"], dtype=object),  # strings take TensorFlow's path
])
def test_round_trip_matches_tensorflow(value):
  proto = tensor_proto.from_ndarray(value)
  np.testing.assert_array_equal(tf.make_ndarray(proto), value)
  np.testing.assert_array_equal(tensor_proto.to_ndarray(tf.make_tensor_proto(value)), value)
  assert tensor_proto.to_ndarray(proto).shape == value.shape


def test_typed_value_fields_are_read():
  proto = tf.make_tensor_proto([1.0, 2.0], dtype=tf.float32)
  proto.ClearField("tensor_content")
  proto.float_val.extend([1.0, 2.0])
  np.testing.assert_array_equal(tensor_proto.to_ndarray(proto), [1.0, 2.0])


def test_malformed_content_raises():
  proto = tf.make_tensor_proto(np.ones((2, 3), np.float32))
  proto.tensor_content = b"\x00" * 5
  with pytest.raises(errors.ServingError, match=r"tensor_content has 5 bytes but .* needs 6 × 4 = 24"):
    tensor_proto.to_ndarray(proto)


def _lying_proto() -> tensor_pb2.TensorProto:
  """The issue's 67-byte attack: a [200000, 28, 10] float tensor that carries three values."""
  proto = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1.0, 2.0, 3.0])
  for size in (200000, 28, 10):
    proto.tensor_shape.dim.add(size=size)
  return proto


def test_a_shape_the_values_do_not_fill_is_rejected_without_allocating():
  proto = _lying_proto()
  assert len(proto.SerializeToString()) < 100
  tracemalloc.start()
  start = time.perf_counter()
  with pytest.raises(errors.ServingError) as e:
    tensor_proto.to_ndarray(proto, "x")
  seconds = time.perf_counter() - start
  _, peak = tracemalloc.get_traced_memory()
  tracemalloc.stop()
  assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
  assert "input 'x'" in e.value.message and "float_val has 3 value(s)" in e.value.message
  assert peak < 1_000_000, peak  # before: np.pad to 224 MB
  assert seconds < 0.05, seconds  # microseconds in fact; generous for a loaded CI machine


def test_declared_size_over_the_limit_is_resource_exhausted_before_decoding():
  proto = tf.make_tensor_proto(7.0, dtype=tf.float32, shape=[1000, 1000])  # one value fills it
  tracemalloc.start()
  with pytest.raises(errors.ServingError) as e:
    tensor_proto.to_ndarray(proto, "x", max_bytes=1_000_000)
  _, peak = tracemalloc.get_traced_memory()
  tracemalloc.stop()
  assert e.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
  assert "4000000 bytes" in e.value.message and "--max_tensor_bytes" in e.value.message
  assert peak < 1_000_000, peak
  np.testing.assert_array_equal(tensor_proto.to_ndarray(proto), np.full((1000, 1000), 7.0))


def test_the_limit_counts_every_input_of_a_request():
  protos = {k: tensor_proto.from_ndarray(np.ones((100,), np.float64)) for k in ("a", "b")}
  assert set(tensor_proto.to_ndarrays(protos, max_bytes=1600)) == {"a", "b"}
  with pytest.raises(errors.ServingError, match=r"input 'b'.*at least 1600"):
    tensor_proto.to_ndarrays(protos, max_bytes=1599)


def test_single_value_broadcasts_as_in_tensorflow():
  for value, dtype in [(2.5, tf.float32), (3, tf.int64), (b"s", tf.string), (True, tf.bool),
                       (1.5, tf.float16)]:
    proto = tf.make_tensor_proto(value, dtype=dtype, shape=[2, 3])
    np.testing.assert_array_equal(tensor_proto.to_ndarray(proto), tf.make_ndarray(proto))


@pytest.mark.parametrize("mutate, match", [
    (lambda p: p.tensor_shape.dim.add(size=-1), "negative"),
    (lambda p: setattr(p.tensor_shape, "unknown_rank", True), "unknown_rank"),
    (lambda p: setattr(p, "dtype", types_pb2.DT_RESOURCE), "DT_RESOURCE is not supported"),
    (lambda p: setattr(p, "dtype", 999), "dtype 999 is not supported"),
    (lambda p: p.float_val.append(1.0), "6 elements but float_val has 7"),
    (lambda p: p.ClearField("float_val"), "6 elements but float_val has 0"),
])
def test_inconsistent_protos_name_the_problem(mutate, match):
  proto = tf.make_tensor_proto(np.zeros((2, 3), np.float32))
  proto.ClearField("tensor_content")
  proto.float_val.extend([0.0] * 6)
  mutate(proto)
  with pytest.raises(errors.ServingError, match=match) as e:
    tensor_proto.to_ndarray(proto, "x")
  assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_empty_tensors_need_no_values():
  proto = tf.make_tensor_proto(np.zeros((0, 4), np.float32))
  proto.ClearField("tensor_content")
  assert tensor_proto.to_ndarray(proto).shape == (0, 4)


def test_a_models_own_limit_replaces_the_servers_and_is_named_in_the_error():
  from serving.core.prediction_service import PredictionService
  service = PredictionService(inference=None, max_tensor_bytes=1 << 20,
                              model_max_tensor_bytes={"small": 64})
  assert service.tensor_limit("other") == (1 << 20, "--max_tensor_bytes")
  limit, flag = service.tensor_limit("small")
  assert (limit, flag) == (64, "--model_max_tensor_bytes=small:BYTES")
  proto = tf.make_tensor_proto(np.zeros([4, 8], np.float32))  # 128 bytes: over 64, under 1 MiB
  assert tensor_proto.to_ndarrays({"x": proto}, 1 << 20)["x"].shape == (4, 8)
  with pytest.raises(errors.ServingError) as e:
    tensor_proto.to_ndarrays({"x": proto}, limit, flag)
  assert e.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
  assert "--model_max_tensor_bytes=small:BYTES" in e.value.message
