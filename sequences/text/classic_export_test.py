"""NBSVM, TF-IDF LR and the Ensemble trained by train.py from a user's folder, then exported.

The export takes raw strings: its n-gram vectorizer is inside the SavedModel, so a loaded export
must give the in-process model's probabilities on the same strings, and reject bad input.
"""

import numpy as np
import pytest
import tensorflow as tf

from common import config as config_lib
from common.export import metadata, publish
from sequences.text import classifier_module, export, train
from sequences.text import data as data_lib
from sequences.text.configs import default

WORDS = {"pos": ["wonderful", "superb", "charming", "delight", "moving", "clever"],
         "neg": ["dull", "boring", "awful", "tedious", "clumsy", "bland"]}
TEXTS = ["a charming and clever film", "dull, tedious \u2014 and bland", "moving"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
  """One cp1252 file per class, 40 lines each, every line with two telling words."""
  root = tmp_path_factory.mktemp("reviews")
  rng = np.random.default_rng(0)
  for name, words in WORDS.items():
    lines = [" ".join(rng.choice(words, 2)) + f" \u2014 scene {i}" for i in range(40)]
    (root / f"{name}.txt").write_bytes("\n".join(lines).encode("cp1252"))
  return root


def _config(folder, model, **overrides):
  config = default.get_config()
  config.model = model
  config.data.source = "class_files"
  config.data.path = str(folder)
  config.data.encoding = "cp1252"
  config.data.train_fraction = 0.6
  config.data.validation_fraction = 0.2
  config.classic.c_grid = (1.0, 8.0)
  config.classic.alpha_grid = (1.0,)
  config.classic.steps = 40
  for key, value in overrides.items():
    setattr(config.ensemble if key == "members" else config, key, value)  # members: a tuple
  return config_lib.resolve(config, print_fn=lambda *_: None)


@pytest.mark.parametrize("model", ["NBSVM", "TfidfLogistic", "Ensemble"])
def test_trains_from_raw_folder_and_export_equals_in_process(folder, tmp_path, model):
  config = _config(folder, model, members=("NBSVM", "TfidfLogistic"))
  config_lib.save(config, tmp_path / "work")  # as `bazel run //sequences/text:train` does
  result = train.train_and_evaluate(config, str(tmp_path / "work"))
  assert result.metrics["test"]["model"]["accuracy"] >= 0.9
  assert result.metrics["test"]["model"]["accuracy"] > result.metrics["test"]["baseline"]["accuracy"]
  export_dir = export.export_result(result, tmp_path / "exports")
  assert metadata.read(export_dir)["extra"]["class_names"] == ["neg", "pos"]
  loaded = publish.load(export_dir)
  texts = tf.constant(TEXTS)
  module = classifier_module.TextClassifierModule(result.extras["tokenizer"], result.model,
                                                  result.data.class_names)
  expected = module.classify(texts)
  got = loaded.signatures["classify"](text=texts)
  np.testing.assert_allclose(got["probabilities"].numpy(), expected["probabilities"].numpy(),
                             atol=1e-6)
  assert [s.decode() for s in got["label"].numpy()] == ["pos", "neg", "pos"]
  assert loaded.signatures["embed"](text=texts)["embedding"].shape[0] == 3
  with pytest.raises(tf.errors.InvalidArgumentError, match="empty or whitespace only"):
    loaded.signatures["classify"](text=tf.constant(["fine", " "]))
  # `bazel run //sequences/text:export -- --workdir=...` publishes the same model from the run
  # directory alone (its saved raw-string module), in another version.
  again = export.export_workdir(tmp_path / "work", tmp_path / "exports")
  assert again != export_dir and metadata.read(again)["data_fingerprint"] == result.data_fingerprint
  np.testing.assert_allclose(
      publish.load(again).signatures["classify"](text=texts)["probabilities"].numpy(),
      expected["probabilities"].numpy(), atol=1e-6)


def test_bad_source_settings_are_clear_errors(folder, tmp_path):
  with pytest.raises(ValueError, match=r"needs --config\.data\.path"):
    data_lib.load(_config("", "NBSVM").data)
  with pytest.raises(ValueError, match=r"ensemble\.members=\('NBSVM', 'SVM'\): \['SVM'\] not models"):
    train.train_and_evaluate(_config(folder, "Ensemble", members=("NBSVM", "SVM")), str(tmp_path))


def test_workdir_and_export_root_on_a_non_local_file_system(folder):
  """Workdirs and export roots may be gs://; TensorFlow's ram:// file system stands in for it."""
  config = _config(folder, "NBSVM")
  result = train.train_and_evaluate(config, "ram://classic_export_test/work")
  for name in ("result.json", "classes.txt", "confusion.png", "final/saved_model/saved_model.pb"):
    assert tf.io.gfile.exists(f"ram://classic_export_test/work/{name}"), name
  export_dir = export.export_result(result, "ram://classic_export_test/exports")
  assert str(export_dir).startswith("ram://classic_export_test/exports/")
  got = publish.load(export_dir).signatures["classify"](text=tf.constant(TEXTS))
  assert [s.decode() for s in got["label"].numpy()] == ["pos", "neg", "pos"]
