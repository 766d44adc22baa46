"""Input checks of a signature and TF Serving's REST JSON encoding."""

import grpc
import numpy as np
import pytest
import tensorflow as tf

from serving.core import errors
from serving.core.signature import Signature
from serving.rest import tensor_json


@tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x"),
                              tf.TensorSpec([None], tf.string, name="tag")])
def _fn(x, tag):
  return {"y": tf.reduce_sum(x, axis=1), "tag_bytes": tag, "tag": tf.strings.upper(tag)}


@pytest.fixture(scope="module")
def sig():
  return Signature.from_function("m", 1, "serving_default", _fn.get_concrete_function())


def _good():
  return {"x": np.ones((2, 3), np.float32), "tag": np.array([b"a", b"b"], object)}


def test_batchable_and_runs(sig):
  assert sig.batchable
  out = sig.run(sig.check_inputs(_good()))
  np.testing.assert_allclose(out["y"], [3.0, 3.0])
  assert list(out["tag"]) == [b"A", b"B"]


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("tag"), "missing input(s) ['tag']"),
    (lambda d: d.update(extra=np.ones(2)), "unknown input(s) ['extra']"),
    (lambda d: d.update(x=np.ones((2, 3), np.float64)), "input 'x' has dtype float64 but the "
                                                         "signature expects float32"),
    (lambda d: d.update(x=np.ones((2, 4), np.float32)), "input 'x' has shape (2, 4) but the "
                                                        "signature expects (None, 3)"),
    (lambda d: d.update(tag=np.array([1, 2])), "input 'tag' has dtype int64"),
    (lambda d: d.update(tag=np.array([b"a"], object)), "inputs disagree on the batch size"),
])
def test_bad_inputs_name_the_problem(sig, change, message):
  inputs = _good()
  change(inputs)
  with pytest.raises(errors.ServingError) as e:
    sig.check_inputs(inputs)
  assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
  assert message in e.value.message
  assert "signature 'serving_default' of model 'm' version 1" in e.value.message


def test_fast_call_answers_as_tensorflows_own_call(sig):
  # `run` calls the graph function directly (no keyword binding, no eager layers); the answer
  # must not change, output names included.
  assert sig._direct is not None, "this TensorFlow lost a ConcreteFunction internal _direct reads"
  inputs = sig.check_inputs(_good())
  ours = sig.run(inputs)
  theirs = sig.fn(x=tf.constant(inputs["x"]), tag=tf.constant(inputs["tag"]))
  assert sorted(ours) == sorted(theirs)
  for k in ours:
    np.testing.assert_array_equal(ours[k], theirs[k].numpy())


def test_loaded_savedmodel_takes_the_fast_call(tmp_path):
  from serving.core import servable
  from serving.testing import models

  models.publish_affine(tmp_path, 2)
  sig = servable.load("affine", 2, tmp_path / "affine" / "2").signatures["serving_default"]
  assert sig._direct is not None
  x = np.array([[1, 2, 3], [0, -1, 0.5]], np.float32)
  out = sig.run(sig.check_inputs({"x": x}))
  for k, v in models.affine_expected(x, 2).items():
    np.testing.assert_allclose(out[k], v, rtol=1e-6)


def test_rest_rows_with_b64_and_utf8(sig):
  body = {"instances": [{"x": [1, 2, 3], "tag": {"b64": "aGk="}}, {"x": [0, 0, 1], "tag": "yo"}]}
  inputs, fmt = tensor_json.request_to_inputs(body, sig)
  assert fmt == "row"
  assert inputs["x"].dtype == np.float32 and inputs["x"].shape == (2, 3)
  assert list(inputs["tag"]) == [b"hi", b"yo"]
  reply = tensor_json.outputs_to_response(sig.run(sig.check_inputs(inputs)), fmt)
  # string outputs: UTF-8 text, except names ending in _bytes which are base64 (TF Serving's rule)
  assert reply == {"predictions": [
      {"y": 6.0, "tag_bytes": {"b64": "aGk="}, "tag": "HI"},
      {"y": 1.0, "tag_bytes": {"b64": "eW8="}, "tag": "YO"}]}


def test_rest_columnar(sig):
  inputs, fmt = tensor_json.request_to_inputs({"inputs": {"x": [[1, 1, 1]], "tag": ["a"]}}, sig)
  reply = tensor_json.outputs_to_response(sig.run(sig.check_inputs(inputs)), fmt)
  assert fmt == "columnar" and reply["outputs"]["y"] == [3.0]


@pytest.mark.parametrize("body, message", [
    ([1, 2], "must be a JSON object"),
    ({"instances": [], "inputs": {}}, "exactly one of"),
    ({"instances": []}, "non-empty list"),
    ({"instances": [[1, 2, 3]]}, "each instance must be an object"),
    ({"instances": [{"x": [1, 2, 3], "tag": "a"}, {"x": [1, 2, 3]}]}, "missing from some instances"),
    ({"instances": [{"x": [1, 2], "tag": "a"}, {"x": [1, 2, 3], "tag": "b"}]}, "cannot be read as float32"),
    ({"instances": [{"x": ["a", "b", "c"], "tag": "a"}]}, "cannot be read as float32"),
    ({"instances": [{"x": [1, 2, 3], "tag": {"b64": "%%"}}]}, "invalid base64"),
])
def test_rest_bad_bodies(sig, body, message):
  with pytest.raises(errors.ServingError) as e:
    tensor_json.request_to_inputs(body, sig)
  assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
  assert message in e.value.message


def test_graph_errors_keep_the_models_explanation_and_drop_tensorflows_scaffolding():
  from serving.core.signature import graph_error_message

  raw = ("Graph execution error:\n\nDetected at node check/Assert defined at (most recent call last):\n"
         "<stack traces unavailable>\nassertion failed: [window has the wrong length: expected [batch, 28, 10]] "
         "[27]\n\t [[{{node check/Assert}}]] [Op:__inference_signature_wrapper_1]")
  assert graph_error_message(raw) == "[window has the wrong length: expected [batch, 28, 10]] [27]"
  assert graph_error_message("indices[0] = -1 is not in [0, 3)\n\t [[{{node Gather}}]]") == (
      "indices[0] = -1 is not in [0, 3)")
