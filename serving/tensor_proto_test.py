"""The fast TensorProto conversions agree with TensorFlow's own."""

import numpy as np
import pytest
import tensorflow as tf

from serving import tensor_proto


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
  with pytest.raises(ValueError):
    tensor_proto.to_ndarray(proto)
