"""One environment (issue 17, item 5): Apache Beam imports and runs beside TensorFlow,
tensorflow-text and the serving stack (gRPC, TF Serving's protos), from the one lock."""

from __future__ import annotations

import importlib.metadata

import apache_beam as beam
import grpc
import tensorflow as tf
import tensorflow_text as tf_text
from apache_beam.testing.util import assert_that, equal_to
from google.protobuf import __version__ as protobuf_version
from tensorflow_serving.apis import predict_pb2

import serving.core.server_main  # noqa: F401 -- the model server's whole import graph


def test_versions_are_the_ones_beam_and_tensorflow_both_accept():
  assert beam.__version__.startswith("2.77")
  assert tf.__version__.startswith("2.21")
  assert int(protobuf_version.split(".")[0]) == 6  # Beam 2.77: protobuf < 7; TF 2.21: >= 6.31
  assert int(importlib.metadata.version("pillow").split(".")[0]) < 13
  assert grpc.__version__


def test_a_beam_pipeline_runs_tensorflow_text_and_serving_protos_in_its_workers():
  def tokens(text: str) -> int:
    return int(tf_text.WhitespaceTokenizer().tokenize(tf.constant([text])).flat_values.shape[0])

  def as_request(n: int) -> int:
    request = predict_pb2.PredictRequest()
    request.inputs["n"].CopyFrom(tf.make_tensor_proto([n]))
    decoded = predict_pb2.PredictRequest.FromString(request.SerializeToString())
    return int(tf.make_ndarray(decoded.inputs["n"])[0])

  with beam.Pipeline(options=beam.options.pipeline_options.PipelineOptions(
      ["--direct_num_workers=2", "--direct_running_mode=multi_threading"])) as p:
    counts = (p | beam.Create(["oak table", "a b c d", "lamp"]) | beam.Map(tokens)
              | beam.Map(as_request))
    assert_that(counts, equal_to([2, 4, 1]))
