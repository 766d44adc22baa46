"""The raw-string export: loads in a fresh process, equals the in-process model, rejects bad input."""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from common import config as config_lib
from common.export import metadata, publish
from common.shopworld import world as shopworld
from sequences.text import classifier_module, demo, evaluate, export

TEXTS = ["Acme wireless headphones. Rechargeable bluetooth speaker cable",
         "Oak dining table",
         "ORGANIC ROASTED COFFEE, fair-trade beans from a small farm " * 40]  # > sequence_length


# A larger test share than the default 0.1 so the baseline comparison rests on ~60 items.
SPLIT = {"data.train_fraction": 0.7, "data.validation_fraction": 0.1}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  """The demo's classifier trained on the tiny shop world and published (~20-40 s)."""
  root = tmp_path_factory.mktemp("export")
  shopworld.generate(seed=0, size="tiny").write(root / "world")
  return demo.train_and_export(root / "work", root / "world", overrides=SPLIT)


@pytest.fixture(scope="module")
def loaded(trained):
  return publish.load(trained[1])


def test_export_equals_in_process_model_on_raw_strings_in_a_fresh_process(trained):
  result, export_dir = trained
  meta = metadata.read(export_dir)
  assert meta["custom_ops"] == ["tensorflow_text"]
  assert set(meta["signatures"]) >= {"classify", "embed", "serving_default"}
  module = classifier_module.TextClassifierModule(result.extras["tokenizer"], result.model,
                                                  result.data.class_names)
  texts = tf.constant(TEXTS)
  expected = {"classify": module.classify(texts), "embed": module.embed(texts)}
  # A fresh Python process that imports nothing from trellis: only TF and the recorded ops.
  script = textwrap.dedent(f"""
      import json, tensorflow as tf
      meta = json.load(open({str(export_dir)!r} + "/assets.extra/metadata.json"))
      for module in meta["custom_ops"]:
        __import__(module)
      model = tf.saved_model.load({str(export_dir)!r})
      texts = tf.constant(json.loads({json.dumps(json.dumps(TEXTS))}))
      out = {{name: {{k: v.numpy().tolist() for k, v in model.signatures[name](text=texts).items()}}
              for name in ("classify", "embed")}}
      out["classify"]["label"] = [s.decode() for s in out["classify"]["label"]]
      print("RESULT" + json.dumps(out))
  """)
  proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                        timeout=240, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
  assert proc.returncode == 0, proc.stderr[-3000:]
  served = json.loads(proc.stdout.split("RESULT", 1)[1])
  np.testing.assert_allclose(served["classify"]["probabilities"],
                             expected["classify"]["probabilities"].numpy(), atol=1e-6)
  assert served["classify"]["label"] == [s.decode() for s in expected["classify"]["label"].numpy()]
  np.testing.assert_allclose(served["embed"]["embedding"], expected["embed"]["embedding"].numpy(),
                             atol=1e-6)
  norms = np.linalg.norm(served["embed"]["embedding"], axis=1)
  np.testing.assert_allclose(norms, 1.0, atol=1e-5)
  assert np.allclose(np.sum(served["classify"]["probabilities"], axis=1), 1.0, atol=1e-5)


def test_reexport_from_the_workdir_gives_the_same_predictions(trained, loaded, tmp_path):
  export_dir = trained[1]
  workdir = pathlib.Path(export_dir).parents[2]  # <workdir>/exports/<name>/<version>
  again = publish.load(export.export_workdir(workdir, tmp_path))
  texts = tf.constant(TEXTS)
  np.testing.assert_allclose(again.signatures["classify"](text=texts)["probabilities"],
                             loaded.signatures["classify"](text=texts)["probabilities"], atol=1e-6)


def test_export_workdir_of_an_unfinished_run_says_what_to_do(tmp_path):
  (tmp_path / "config.json").write_text("{}")
  with pytest.raises(FileNotFoundError, match="not a finished training run"):
    export.export_workdir(tmp_path, tmp_path / "exports")


@pytest.mark.parametrize("bad, message", [
    (b"", "empty or whitespace only"),
    (b"\xff\xfe\x00junk", "not valid UTF-8"),
    (b"a" * 70_000, "longer than max_input_bytes=65536"),
])
def test_loaded_export_rejects_bad_input_with_a_clear_error(loaded, bad, message):
  for name in ("classify", "embed"):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
      loaded.signatures[name](text=tf.constant([b"oak table", bad]))


def test_result_is_the_common_train_result(trained):
  result = trained[0]
  assert set(result.metrics) == {"validation", "test"}
  assert result.data_fingerprint == result.data.fingerprint
  assert result.data_fingerprint.startswith("shopworld:")
  assert 1 <= result.epochs <= result.config.epochs and result.train_seconds > 0
  assert result.baseline == int(np.argmax(np.bincount(result.extras["parts"]["train"].labels)))
  workdir = pathlib.Path(trained[1]).parents[2]
  assert json.loads((workdir / "result.json").read_text())["metrics"]["test"]["model"] == (
      pytest.approx(result.metrics["test"]["model"]))


def test_model_beats_the_majority_baseline_on_the_shop_world(trained):
  evaluation = trained[0].metrics["test"]
  assert len(trained[0].extras["parts"]["test"].texts) > 40
  # Majority is ~0.1-0.2 on ten categories; the CNN reaches ~0.8.
  assert evaluation["model"]["accuracy"] > evaluation["baseline"]["accuracy"] + 0.3
  assert evaluation["model"]["macro_f1"] > 2 * evaluation["baseline"]["macro_f1"]


def test_evaluating_the_export_from_raw_strings_reproduces_training_metrics(trained):
  result, export_dir = trained
  config = config_lib.read_saved(pathlib.Path(export_dir).parents[2])
  served = evaluate.evaluate_export(export_dir, config)
  assert served["model"] == pytest.approx(result.metrics["test"]["model"])
  assert served["confusion"] == result.metrics["test"]["confusion"]


def test_reexport_from_a_workdir_on_a_non_local_file_system(trained, loaded):
  """A workdir and export root may be gs://; TensorFlow's ram:// file system stands in for it."""
  workdir = pathlib.Path(trained[1]).parents[2]
  remote = "ram://export_test/work"
  tf.io.gfile.makedirs(f"{remote}/final")
  for name in ("config.json", "vocab.txt", "classes.txt", "result.json",
               *(f"final/{p.name}" for p in (workdir / "final").iterdir())):
    tf.io.gfile.copy(str(workdir / name), f"{remote}/{name}", overwrite=True)
  again = publish.load(export.export_workdir(remote, "ram://export_test/exports"))
  texts = tf.constant(TEXTS)
  np.testing.assert_allclose(again.signatures["classify"](text=texts)["probabilities"],
                             loaded.signatures["classify"](text=texts)["probabilities"], atol=1e-6)
