"""No training–serving skew (DESIGN.md idea 1), checked for every domain end to end.

Every domain's demo model is trained on a tiny shop world and published into one export root;
the real model server (`serving.core.server_main`, its own process) serves that root. Each model is
queried over gRPC with TensorFlow Serving's stubs and over REST with the raw input a client has,
and the answers must equal the same export called in process (`common.export.publish.load`) and,
for vision and text, the Keras model as training left it, before export.
"""

from __future__ import annotations

import base64
import json
import pathlib

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc

from common.export import publish, warmup
from recsys import features
from tests import model_server, raw_inputs

# The server runs the same graph on the same input; float results may differ only by the
# summation order of a differently threaded kernel.
TOL = dict(rtol=1e-5, atol=1e-6)
K = 5


@pytest.fixture(scope="module")
def server(export_root, vision, text, timeseries, recsys, tmp_path_factory):
  """One server process on the export root, after every domain has published into it."""
  del vision, text, timeseries, recsys  # they only have to exist before the server starts
  proc = model_server.ServerProcess("serving.core.server_main", export_root,
                                    tmp_path_factory.mktemp("logs") / "server.log")
  yield proc
  assert proc.stop() == 0


def _b64(blobs):
  return [{"b64": base64.b64encode(b).decode("ascii")} for b in blobs]


def test_every_domain_is_served_from_one_export_root(server, vision, text, timeseries, recsys):
  models = model_service_pb2_grpc.ModelServiceStub(server.channel)
  available = get_model_status_pb2.ModelVersionStatus.AVAILABLE
  for trained in (vision, text, timeseries, recsys):
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = trained.name
    status = models.GetModelStatus(request, timeout=model_server.TIMEOUT).model_version_status
    assert [(s.version, s.state) for s in status] == [(trained.version, available)], trained.name
    assert server.rest(f"/v1/models/{trained.name}")["model_version_status"][0]["state"] == (
        "AVAILABLE")
  # Each version was warmed up with the real raw inputs its export recorded
  # (assets.extra/tf_serving_warmup_requests) before it took traffic, not with synthetic zeros
  # or empty strings, which these raw-input exports refuse.
  log = server.log_path.read_text()
  assert "synthetic warm-up" not in log
  entries = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
  warmed = {e["model"]: e["warmup_requests"] for e in entries
            if e.get("message") == "model version available"}
  for trained in (vision, text, timeseries, recsys):
    recorded = warmup.read(pathlib.Path(trained.export_dir))
    assert recorded, f"{trained.name} recorded no warm-up requests"
    assert warmed[trained.name] == len(recorded), trained.name


# -- vision: encoded image bytes ---------------------------------------------------------------
def test_vision_classify_and_embed_served_equal_in_process(server, vision, world_dir):
  from vision import preprocessing

  blobs = raw_inputs.image_bytes(world_dir)
  loaded = publish.load(str(vision.export_dir))
  expected = loaded.signatures["classify"](image_bytes=tf.constant(blobs))
  expected_embedding = loaded.signatures["embed"](image_bytes=tf.constant(blobs))["embedding"]

  served, response = server.predict_grpc(vision.name, {"image_bytes": np.array(blobs, object)},
                                         signature="classify")
  assert response.model_spec.version.value == vision.version
  np.testing.assert_array_equal(served["class_ids"], expected["class_ids"].numpy())
  np.testing.assert_array_equal(served["class_names"], expected["class_names"].numpy())
  np.testing.assert_allclose(served["probabilities"], expected["probabilities"].numpy(), **TOL)
  served_embed, _ = server.predict_grpc(vision.name, {"image_bytes": np.array(blobs, object)},
                                        signature="embed")
  np.testing.assert_allclose(served_embed["embedding"], expected_embedding.numpy(), **TOL)

  # REST, row format, default signature (= classify): the same answer.
  rest = server.predict_rest(vision.name, {"instances": _b64(blobs)})["predictions"]
  assert [p["class_names"] for p in rest] == [n.decode() for n in expected["class_names"].numpy()]
  np.testing.assert_allclose([p["probabilities"] for p in rest],
                             expected["probabilities"].numpy(), **TOL)

  # The Keras model before export, on the same bytes decoded the way training decodes them.
  info = vision.extra["info"]
  images = preprocessing.decode_batch(tf.constant(blobs), info["image_size"])
  keras_probabilities = tf.nn.softmax(vision.keras(images, training=False)).numpy()
  np.testing.assert_allclose(served["probabilities"], keras_probabilities, rtol=1e-4, atol=1e-5)
  assert served["probabilities"].shape == (len(blobs), len(info["class_names"]))


# -- text: raw strings -------------------------------------------------------------------------
def test_text_classify_and_embed_served_equal_in_process(server, text, world_dir):
  strings = raw_inputs.texts(world_dir)
  encoded = [s.encode("utf-8") for s in strings]
  loaded = publish.load(str(text.export_dir))  # imports tensorflow_text, as metadata says
  expected = loaded.signatures["classify"](text=tf.constant(encoded))
  expected_embedding = loaded.signatures["embed"](text=tf.constant(encoded))["embedding"].numpy()

  served, _ = server.predict_grpc(text.name, {"text": np.array(encoded, object)})
  np.testing.assert_array_equal(served["label"], expected["label"].numpy())
  np.testing.assert_array_equal(served["label_id"], expected["label_id"].numpy())
  np.testing.assert_allclose(served["probabilities"], expected["probabilities"].numpy(), **TOL)
  served_embed, _ = server.predict_grpc(text.name, {"text": np.array(encoded, object)},
                                        signature="embed")
  np.testing.assert_allclose(served_embed["embedding"], expected_embedding, **TOL)

  rest = server.predict_rest(text.name, {"instances": strings})["predictions"]
  assert [p["label"] for p in rest] == [s.decode() for s in expected["label"].numpy()]
  np.testing.assert_allclose([p["probabilities"] for p in rest],
                             expected["probabilities"].numpy(), **TOL)

  # The Keras classifier before export, behind the same tokenizer object training used.
  ids = text.extra["tokenizer"](tf.constant(encoded))
  keras_probabilities = tf.nn.softmax(
      tf.cast(text.keras(ids, training=False), tf.float32), axis=-1).numpy()
  np.testing.assert_allclose(served["probabilities"], keras_probabilities, rtol=1e-4, atol=1e-5)


# -- time series: a raw window of values -------------------------------------------------------
def test_forecast_served_equals_in_process(server, timeseries, world_dir):
  windows = raw_inputs.demand_windows(world_dir, timeseries.extra["lookback"])
  loaded = publish.load(str(timeseries.export_dir))
  expected = loaded.signatures["forecast"](window=tf.constant(windows))["forecast"].numpy()
  assert expected.shape == (2, timeseries.extra["horizon"], windows.shape[-1])

  served, _ = server.predict_grpc(timeseries.name, {"window": windows})  # serving_default
  np.testing.assert_allclose(served["forecast"], expected, **TOL)
  rest = server.predict_rest(timeseries.name, {"inputs": {"window": windows.tolist()}})
  np.testing.assert_allclose(rest["outputs"], expected, rtol=1e-5, atol=1e-4)
  # Forecasts come back in the series' own units (daily demand in the tens to hundreds), not
  # the z-scores the network works in.
  assert np.abs(expected).mean() > 10


# -- recsys: raw recent item ids ---------------------------------------------------------------
def _recsys_inputs(world_dir, max_history):
  users = raw_inputs.recent_items(world_dir)
  padded = [features.pad_history(ids, times, max_history) for _, ids, times in users]
  return {"user_id": np.array([u for u, _, _ in users], object),
          "history_ids": np.stack([p[0] for p in padded]).astype(object),
          "history_times": np.stack([p[1] for p in padded]),
          "timestamp": np.array([times[-1] + 3600 for _, _, times in users], np.int64)}


def test_recommend_served_equals_in_process(server, recsys, world_dir):
  inputs = _recsys_inputs(world_dir, recsys.extra["config"].model.max_history)
  loaded = publish.load(str(recsys.export_dir))
  expected = loaded.signatures["recommend"](
      **{k: tf.constant(v) for k, v in inputs.items()}, k=tf.constant(K))

  served, _ = server.predict_grpc("recsys", inputs | {"k": np.array(K, np.int32)},
                                  signature="recommend")
  np.testing.assert_array_equal(served["item_ids"], expected["item_ids"].numpy())
  np.testing.assert_allclose(served["scores"], expected["scores"].numpy(), **TOL)
  np.testing.assert_allclose(served["rank_scores"], expected["rank_scores"].numpy(), **TOL)
  # The history is never recommended back.
  for row, history in zip(served["item_ids"].astype(str), inputs["history_ids"], strict=True):
    assert not set(row) & set(history)

  rest = server.predict_rest("recsys", {"signature_name": "recommend", "inputs": {
      "user_id": inputs["user_id"].tolist(), "history_ids": inputs["history_ids"].tolist(),
      "history_times": inputs["history_times"].tolist(),
      "timestamp": inputs["timestamp"].tolist(), "k": K}})["outputs"]
  assert rest["item_ids"] == expected["item_ids"].numpy().astype(str).tolist()
  np.testing.assert_allclose(rest["scores"], expected["scores"].numpy(), rtol=1e-5, atol=1e-5)


# -- bad raw input, through the server ---------------------------------------------------------
def _bad_cases(world_dir, vision, text, timeseries, recsys):
  """(model, signature, inputs, words the error must contain) for input a client can get wrong.

  The exports check their raw input in the graph (the domains' own tests show it in process);
  here the same checks must reach a remote client as INVALID_ARGUMENT carrying the model's own
  explanation, not a bare "Graph execution error".
  """
  good_image = raw_inputs.image_bytes(world_dir, n=1)[0]
  window = raw_inputs.demand_windows(world_dir, timeseries.extra["lookback"])[:1]
  nan_window = window.copy()
  nan_window[0, 3, 0] = np.nan
  inputs = _recsys_inputs(world_dir, recsys.extra["config"].model.max_history)
  return [
      (vision.name, "classify", {"image_bytes": np.array([good_image, b""], object)},
       "image bytes are empty"),
      (vision.name, "classify", {"image_bytes": np.array([b"<html>404</html>"], object)},
       "not JPEG or PNG"),
      (text.name, "classify", {"text": np.array([b"oak table", b""], object)},
       "empty or whitespace only"),
      (text.name, "classify", {"text": np.array([b"\xff\xfe\x00junk"], object)}, "not valid UTF-8"),
      (text.name, "classify", {"text": np.array([b"a" * 70_000], object)}, "longer than"),
      (timeseries.name, "forecast", {"window": nan_window}, "NaN or infinity"),
      (timeseries.name, "forecast", {"window": window[:, 1:]}, "window"),
      ("recsys", "recommend", inputs | {"k": np.array(0, np.int32)}, "k must be between 1"),
  ]


def test_bad_raw_input_gets_invalid_argument_with_the_models_reason(server, world_dir, vision, text,
                                                                   timeseries, recsys):
  import grpc

  for model, signature, inputs, words in _bad_cases(world_dir, vision, text, timeseries, recsys):
    with pytest.raises(grpc.RpcError) as info:
      server.predict_grpc(model, inputs, signature=signature)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (model, info.value.details())
    assert words in info.value.details(), (model, info.value.details())
  # REST says the same with a 400, e.g. an empty string for the text classifier.
  import urllib.error

  with pytest.raises(urllib.error.HTTPError) as http:
    server.predict_rest(text.name, {"instances": ["oak table", "   "]})
  assert http.value.code == 400
  assert "empty or whitespace only" in http.value.read().decode()
  # ...and the server goes on serving every model.
  served, _ = server.predict_grpc(text.name, {"text": np.array([b"oak table"], object)})
  assert served["label"].shape == (1,)
  windows = raw_inputs.demand_windows(world_dir, timeseries.extra["lookback"])
  assert server.predict_grpc(timeseries.name, {"window": windows})[0]["forecast"].shape[0] == 2
