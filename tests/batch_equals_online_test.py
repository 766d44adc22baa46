"""Batch equals online, and nothing lost, for every domain's real export (issue 17).

For each domain the same raw inputs go through `tools/batch_predict` (the Beam pipeline on
DirectRunner, 2 workers) and through the real model server (`serving.core.server_main`, its own
process, TF Serving's gRPC stubs); the answers must be equal to float tolerance. Each input
file also carries the bad records a real job meets (bytes that are not an image, text that is
not UTF-8 or is empty, a NaN or wrong-shaped window, an unknown user or item), and every one of
them must land in the dead-letter output with its key and the reason, while its good
neighbours in the same batch are still scored. The formats vary by domain so each is used on a
real export: TFRecord (vision, ImageNet schema), CSV (text, recsys), JSON Lines (time series,
recsys items).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from common.export import metadata
from tests import model_server, raw_inputs
from tools import batch_predict
from tools.batch import formats

# Same graph, same input; only a differently sized batch (summation order) may differ.
TOL = dict(rtol=1e-5, atol=1e-6)
K = 5


@pytest.fixture
def serve(export_root, tmp_path):
  """Starts the real model server on the export root once the domains a test needs are
  published (a test asks only for its own domain, so one domain's test runs without training
  the others)."""
  started = []

  def start(*trained):
    del trained  # they only have to be published before the server starts
    started.append(model_server.ServerProcess("serving.core.server_main", export_root,
                                              tmp_path / f"server{len(started)}.log"))
    return started[-1]

  yield start
  for proc in started:
    assert proc.stop() == 0


def _run(tmp_path, export_dir, input_path, *flags):
  out = str(tmp_path / "out" / "pred")
  found = batch_predict.run([f"--export_dir={export_dir}", f"--input={input_path}",
                             f"--output={out}", "--batch_size=4", *flags])
  rows = formats.read_files(out + "-0*")
  letters = {}
  for letter in formats.read_files(out + "-dead_letters-*.jsonl"):
    letters[letter["key"]] = letter
  return found, rows, letters


def _text(value):
  return value.decode() if isinstance(value, bytes) else value


def _floats(value):
  return np.asarray(json.loads(value) if isinstance(value, str) else value, np.float32)


def test_vision_tfrecord_batch_equals_served(serve, vision, world_dir, tmp_path):
  server = serve(vision)
  blobs = raw_inputs.image_bytes(world_dir)
  bad = {"not_an_image": b"<html>404</html>", "empty": b""}
  path = tmp_path / "images.tfrecord"
  with tf.io.TFRecordWriter(str(path)) as w:
    for key, blob in [*((f"img{i}", b) for i, b in enumerate(blobs)), *bad.items()]:
      w.write(formats.to_example({"key": key, "image/encoded": blob}))
  found, rows, letters = _run(tmp_path, vision.model_dir, path)
  assert found == {"inputs": len(blobs) + 2, "outputs": len(blobs), "dead_letters": 2}
  assert sorted(letters) == sorted(bad)
  assert "not JPEG or PNG" in letters["not_an_image"]["reason"]
  assert letters["not_an_image"]["stage"] == "model"  # refused by the graph, scored alone
  assert "empty" in letters["empty"]["reason"]

  by_key = {_text(r["key"]): r for r in rows}
  served, _ = server.predict_grpc(vision.name, {"image_bytes": np.array(blobs, object)},
                                  signature="classify")
  embedded, _ = server.predict_grpc(vision.name, {"image_bytes": np.array(blobs, object)},
                                    signature="embed")
  for i in range(len(blobs)):
    row = by_key[f"img{i}"]
    assert row["class_id"] == served["class_ids"][i]
    assert _text(row["class_name"]) == served["class_names"][i].decode()
    np.testing.assert_allclose(row["probabilities"], served["probabilities"][i], **TOL)
    np.testing.assert_allclose(row["embedding"], embedded["embedding"][i], **TOL)


def test_text_csv_batch_equals_served(serve, text, world_dir, tmp_path):
  server = serve(text)
  strings = raw_inputs.texts(world_dir)
  path = tmp_path / "texts.csv"
  lines = [b"key,text"] + [
      formats.to_csv_line({"key": f"t{i}", "text": s}, ["key", "text"]).encode()
      for i, s in enumerate(strings)] + [
      b"latin1,caf\xe9 table",          # not UTF-8
      b"blank,",                        # empty: the model refuses it
      b"huge," + b"a" * 70_000,         # longer than the model takes
      b"torn,two,fields"]              # one field too many for the header
  path.write_bytes(b"\n".join(lines) + b"\n")
  found, rows, letters = _run(tmp_path, text.model_dir, path)
  assert found == {"inputs": len(strings) + 4, "outputs": len(strings), "dead_letters": 4}
  assert "not valid UTF-8" in letters["latin1"]["reason"]
  assert "empty or whitespace only" in letters["blank"]["reason"]
  assert "longer than" in letters["huge"]["reason"]
  assert [v["stage"] for k, v in letters.items() if k.startswith("unparsed:")] == ["parse"]

  served, _ = server.predict_grpc(text.name, {"text": np.array(
      [s.encode() for s in strings], object)})
  by_key = {r["key"]: r for r in rows}
  for i in range(len(strings)):
    row = by_key[f"t{i}"]
    assert row["label"] == served["label"][i].decode()
    assert int(row["label_id"]) == served["label_id"][i]
    np.testing.assert_allclose(_floats(row["probabilities"]), served["probabilities"][i], **TOL)


def test_timeseries_jsonl_batch_equals_served(serve, timeseries, world_dir, tmp_path):
  server = serve(timeseries)
  windows = raw_inputs.demand_windows(world_dir, timeseries.extra["lookback"])
  nan = windows[0].copy()
  nan[3, 0] = np.nan
  records = [{"key": f"w{i}", "window": w} for i, w in enumerate(windows)] + [
      {"key": "gap", "window": nan}, {"key": "short", "window": windows[0][1:]},
      {"key": "words", "window": "not a list"}]
  path = tmp_path / "windows.jsonl"
  path.write_text("".join(formats.to_json_line(r) + "\n" for r in records))
  found, rows, letters = _run(tmp_path, timeseries.model_dir, path)
  assert found == {"inputs": 5, "outputs": 2, "dead_letters": 3}
  assert "NaN or infinity" in letters["gap"]["reason"]
  # The forecaster's signature leaves the window's dimensions open and names the expected
  # window itself: a short window is refused by the model, scored alone.
  assert "wrong length" in letters["short"]["reason"] and letters["short"]["stage"] == "model"
  assert "not a JSON list" in letters["words"]["reason"]

  served, _ = server.predict_grpc(timeseries.name, {"window": windows})
  by_key = {r["key"]: r for r in rows}
  for i in range(len(windows)):
    np.testing.assert_allclose(by_key[f"w{i}"]["forecast"], served["forecast"][i], **TOL)


def test_recsys_csv_top_k_equals_served(serve, recsys, world_dir, tmp_path):
  server = serve(recsys)
  users = raw_inputs.recent_items(world_dir)
  path = tmp_path / "users.csv"
  rows_in = [{"user_id": u, "history": " ".join(ids), "history_times": " ".join(map(str, times)),
              "timestamp": times[-1] + 3600} for u, ids, times in users]
  rows_in += [{"user_id": "stranger", "history": "", "history_times": "", "timestamp": 1},
              {"user_id": "typo", "history": "no_such_item", "history_times": "",
               "timestamp": 1}]
  fields = ["user_id", "history", "history_times", "timestamp"]
  path.write_text(",".join(fields) + "\n" + "".join(
      formats.to_csv_line(r, fields) + "\n" for r in rows_in))
  found, rows, letters = _run(tmp_path, recsys.model_dir, path, f"--k={K}")
  assert found == {"inputs": len(users) + 2, "outputs": len(users), "dead_letters": 2}
  assert "unknown user 'stranger'" in letters["stranger"]["reason"]
  assert "not in the catalogue" in letters["typo"]["reason"]

  max_history = recsys.extra["config"].model.max_history
  from recsys import features

  padded = [features.pad_history(ids, times, max_history) for _, ids, times in users]
  served, _ = server.predict_grpc("recsys", {
      "user_id": np.array([u for u, _, _ in users], object),
      "history_ids": np.stack([p[0] for p in padded]).astype(object),
      "history_times": np.stack([p[1] for p in padded]),
      "timestamp": np.array([r["timestamp"] for r in rows_in[:len(users)]], np.int64),
      "k": np.array(K, np.int32)}, signature="recommend")
  for b, (user, _, _) in enumerate(users):
    mine = sorted((r for r in rows if r["user_id"] == user), key=lambda r: int(r["rank"]))
    assert [r["item_id"] for r in mine] == served["item_ids"][b].astype(str).tolist()
    np.testing.assert_allclose([float(r["score"]) for r in mine], served["scores"][b], **TOL)
    np.testing.assert_allclose([float(r["rank_score"]) for r in mine], served["rank_scores"][b],
                               **TOL)


def test_recsys_items_to_embeddings_equal_served(serve, recsys, tmp_path):
  server = serve(recsys)
  from recsys import input_pipeline

  data = recsys.extra["data"]
  item_ids = data.catalog.item_id.astype(str)[:5]
  content = input_pipeline.item_content(data, item_ids)
  records = [{"item_id": i, "text": str(content["text"][n])}
             | ({"image": content["image"][n]} if "image" in content else {})
             for n, i in enumerate(item_ids)]
  path = tmp_path / "items.jsonl"
  path.write_text("".join(formats.to_json_line(r) + "\n" for r in records))
  found, rows, letters = _run(tmp_path, recsys.model_dir, path, "--signature=candidate_embedding")
  assert found == {"inputs": 5, "outputs": 5, "dead_letters": 0} and not letters
  wanted = metadata.read(recsys.export_dir)["signatures"]["candidate_embedding"]["inputs"]
  inputs = {"item_id": np.array([i.encode() for i in item_ids], object),
            "text": np.array([str(t).encode() for t in content["text"]], object)}
  if "image" in content:
    inputs["image"] = np.array(list(content["image"]), object)
  inputs = {k: v for k, v in inputs.items() if k in wanted}
  served, _ = server.predict_grpc("recsys", inputs, signature="candidate_embedding")
  by_key = {r["key"]: r for r in rows}
  for n, item in enumerate(item_ids):
    np.testing.assert_allclose(by_key[item]["embedding"], served["embedding"][n], **TOL)
