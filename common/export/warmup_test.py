"""Exports record real warm-up requests in TF Serving's format and refuse unusable ones."""

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from common.export import publish, warmup


class Words(tf.Module):
  """Counts words; like the raw-input exports, it refuses an empty string."""

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
  def count(self, text):
    tf.debugging.assert_positive(tf.strings.length(tf.strings.strip(text)),
                                 message="text is empty")
    return {"words": tf.strings.split(text).row_lengths()}


def _export(root, requests):
  module = Words()
  return publish.export_saved_model(module, {"count": module.count}, export_root=root,
                                    model_name="words", domain="tests", default_signature="count",
                                    warmup_requests=requests)


def test_requests_are_recorded_as_tf_serving_prediction_logs(tmp_path):
  export_dir = _export(tmp_path, {"count": {"text": [b"oak table", b"a b c"]}})
  path = export_dir / "assets.extra" / "tf_serving_warmup_requests"
  records = [prediction_log_pb2.PredictionLog.FromString(r.numpy())
             for r in tf.data.TFRecordDataset(str(path))]
  assert len(records) == 1
  request = records[0].predict_log.request
  assert (request.model_spec.name, request.model_spec.signature_name) == ("words", "count")
  assert tf.make_ndarray(request.inputs["text"]).tolist() == [b"oak table", b"a b c"]
  # Read back as the server replays it, and it runs on the loaded model.
  ((name, inputs),) = warmup.read(export_dir)
  loaded = publish.load(export_dir)
  assert loaded.signatures[name](**inputs)["words"].numpy().tolist() == [2, 3]


def test_an_export_without_requests_has_no_file(tmp_path):
  module = Words()
  export_dir = publish.export_saved_model(module, {"count": module.count}, export_root=tmp_path,
                                          model_name="words", domain="tests")
  assert warmup.read(export_dir) == []
  assert not (export_dir / warmup.WARMUP_FILE).exists()


@pytest.mark.parametrize("requests, message", [
    ({"classify": {"text": [b"x"]}}, "names signature 'classify'.*use one of \\['count'\\]"),
    ({"count": {"text": np.array([b""], object)}}, "does not run on the model.*text is empty"),
])
def test_unusable_requests_fail_the_export_before_anything_is_published(tmp_path, requests,
                                                                       message):
  with pytest.raises(publish.ExportError, match=message):
    _export(tmp_path, requests)
  assert not (tmp_path / "words").exists()  # checked before any directory is made
