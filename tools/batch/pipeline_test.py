"""The pipeline on Beam's DirectRunner over small hand-made exports with the real signatures.

The exports are tiny tf.Modules with the signature names and raw inputs of the real domains
(a forecaster that adds one to the last day; a text classifier on string length), published with
`common.export.publish`, so each test runs in seconds. The real domains' exports are run in
tests/batch_predict_test.py and tests/batch_equals_online_test.py.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import tensorflow as tf

from common.export import publish
from tools import batch_predict
from tools.batch import formats, pipeline

LOOKBACK, SERIES, HORIZON = 4, 2, 3


class Forecaster(tf.Module):
  """forecast(window [b, 4, 2]) = the last day + 1, repeated for 3 days."""

  @tf.function(input_signature=[tf.TensorSpec([None, LOOKBACK, SERIES], tf.float32, name="window")])
  def forecast(self, window):
    check = tf.debugging.Assert(tf.reduce_all(tf.math.is_finite(window)),
                                ["window has NaN or infinity"])
    with tf.control_dependencies([check]):
      last = window[:, -1:, :] + 1.0
    return {"forecast": tf.tile(last, [1, HORIZON, 1])}


class Classifier(tf.Module):
  """classify(text): class 1 ("long") when the string has more than 5 bytes; refuses ""."""

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
  def classify(self, text):
    n = tf.strings.length(text)
    check = tf.debugging.Assert(tf.reduce_all(n > 0), ["text is empty or whitespace only"])
    with tf.control_dependencies([check]):
      label_id = tf.cast(n > 5, tf.int64)
    p = tf.one_hot(label_id, 2)
    return {"label": tf.gather(tf.constant(["short", "long"]), label_id), "label_id": label_id,
            "probabilities": p}


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
  root = tmp_path_factory.mktemp("exports")
  f, c = Forecaster(), Classifier()
  return {
      "timeseries": publish.export_saved_model(f, {"forecast": f.forecast}, export_root=root,
                                               model_name="toy_forecaster", domain="sequences"),
      "text": publish.export_saved_model(c, {"classify": c.classify}, export_root=root,
                                         model_name="toy_text", domain="sequences"),
  }


def _read_outputs(prefix: str) -> list[dict]:
  return formats.read_files(prefix + "-0*")


def _dead_letters(prefix: str) -> dict[str, dict]:
  return {letter["key"]: letter for letter in formats.read_files(prefix + "-dead_letters-*.jsonl")}


def _window(day0: float) -> list[list[float]]:
  return [[day0 + d, 10 * (day0 + d)] for d in range(LOOKBACK)]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "tfrecord"])
def test_every_format_round_trips_and_bad_windows_become_dead_letters(exports, tmp_path, fmt):
  good = [{"key": f"s{i}", "window": _window(i)} for i in range(5)]
  nan = {"key": "nan", "window": _window(0)}
  nan["window"][2][1] = math.nan
  short = {"key": "short", "window": _window(0)[:3]}
  records = [*good, nan, short]
  path = tmp_path / f"in.{fmt}"
  if fmt == "jsonl":
    path.write_text("".join(formats.to_json_line(r) + "\n" for r in records) + "{not json\n")
  elif fmt == "csv":
    path.write_text("key,window\n" + "".join(
        formats.to_csv_line(r, ["key", "window"]) + "\n" for r in records))
  else:
    with tf.io.TFRecordWriter(str(path)) as w:
      for r in records:
        w.write(formats.to_example({"key": r["key"], "window": np.array(r["window"])}))
  out = str(tmp_path / "out" / "pred")
  found = batch_predict.run([f"--export_dir={exports['timeseries']}", f"--input={path}",
                             f"--output={out}", "--batch_size=3"])
  bad = 3 if fmt == "jsonl" else 2
  assert found == {"inputs": len(records) + bad - 2, "outputs": 5, "dead_letters": bad}
  # TFRecord has no text type: its string features read back as bytes
  rows = {(r["key"].decode() if isinstance(r["key"], bytes) else r["key"]): r
          for r in _read_outputs(out)}
  assert sorted(rows) == [f"s{i}" for i in range(5)]
  forecast = rows["s2"]["forecast"]
  if isinstance(forecast, str):
    forecast = json.loads(forecast)
  # last day of window 2 is [2 + 3, 10 * 5] = [5, 50]; the toy model adds one: [6, 51] x 3 days
  np.testing.assert_allclose(np.asarray(forecast).reshape(HORIZON, SERIES), [[6, 51]] * HORIZON)
  letters = _dead_letters(out)
  assert "NaN or infinity" in letters["nan"]["reason"] and letters["nan"]["stage"] == "prepare"
  assert "shape [3, 2]" in letters["short"]["reason"]
  if fmt == "jsonl":
    (unparsed,) = [v for k, v in letters.items() if k.startswith("unparsed:")]
    assert unparsed["stage"] == "parse" and "does not parse" in unparsed["reason"]


def test_a_record_the_model_refuses_is_a_dead_letter_and_its_batch_is_still_scored(
    exports, tmp_path):
  lines = [b'{"key": "a", "text": "oak table"}', b'{"key": "b", "text": ""}',
           b'{"key": "c", "text": "lamp"}', b'{"key": "d", "text": "\xff\xfe junk"}']
  path = tmp_path / "texts.jsonl"
  path.write_bytes(b"\n".join(lines) + b"\n")
  out = str(tmp_path / "pred")
  found = batch_predict.run([f"--export_dir={exports['text']}", f"--input={path}",
                             f"--output={out}", "--batch_size=8"])
  assert found == {"inputs": 4, "outputs": 2, "dead_letters": 2}
  rows = {r["key"]: r for r in _read_outputs(out)}
  assert (rows["a"]["label"], rows["c"]["label"]) == ("long", "short")
  letters = _dead_letters(out)
  assert letters["b"]["stage"] == "model"  # refused inside the graph, alone, with its reason
  assert "empty or whitespace only" in letters["b"]["reason"]
  assert letters["d"]["stage"] == "prepare" and "not valid UTF-8" in letters["d"]["reason"]


def test_mistakes_on_the_command_line_are_explained(exports, tmp_path):
  path = tmp_path / "x.jsonl"
  path.write_text('{"window": []}\n')
  with pytest.raises(formats.FormatError, match="--input_format"):
    batch_predict.run([f"--export_dir={exports['text']}", f"--input={tmp_path}/x.dat",
                       f"--output={tmp_path}/o"])
  assert batch_predict.main([f"--export_dir={tmp_path}/nothing", f"--input={path}",
                             f"--output={tmp_path}/o"]) == 2
  with pytest.raises(SystemExit):
    batch_predict.parse(["--export_dir=x", "--input=y", "--output=z", "--batch_size=0"])


def test_beam_options_pass_through_and_local_defaults_fill_in():
  _, beam_args = batch_predict.parse(["--export_dir=x", "--input=y", "--output=z"])
  assert "--direct_num_workers=2" in beam_args and "--runner=DirectRunner" in beam_args
  _, beam_args = batch_predict.parse(["--export_dir=x", "--input=y", "--output=z",
                                      "--runner=DataflowRunner", "--project=p", "--region=r"])
  assert beam_args == ["--runner=DataflowRunner", "--project=p", "--region=r"]


def test_lost_records_fail_the_job():
  pipeline.check({"inputs": 3, "outputs": 2, "dead_letters": 1})
  with pytest.raises(pipeline.LostRecordsError, match="3 inputs but 1 outputs"):
    pipeline.check({"inputs": 3, "outputs": 1, "dead_letters": 1})


def test_a_plain_saved_model_without_trellis_metadata_is_read_from_its_signatures(tmp_path):
  f = Forecaster()
  tf.saved_model.save(f, str(tmp_path / "plain" / "1"), signatures={"forecast": f.forecast})
  path = tmp_path / "w.jsonl"
  path.write_text(formats.to_json_line({"key": "a", "window": _window(1)}) + "\n")
  found = batch_predict.run([f"--export_dir={tmp_path / 'plain'}", f"--input={path}",
                             f"--output={tmp_path / 'o.jsonl'}"])
  assert found == {"inputs": 1, "outputs": 1, "dead_letters": 0}
  (row,) = formats.read_files(str(tmp_path / "o.jsonl"))
  np.testing.assert_allclose(row["forecast"], [[5, 41]] * HORIZON)
