"""Exports land in the TF Serving layout with metadata, atomically, and load back (publish.py)."""

import datetime
import json
import threading

import ml_collections
import numpy as np
import pytest
import tensorflow as tf

from common.export import metadata, publish, versions


class Scaler(tf.Module):
  """y = w * x, plus a string signature, enough to check specs and round trips."""

  def __init__(self, w=2.0):
    super().__init__()
    self.w = tf.Variable(w)

  @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
  def scale(self, x):
    return {"y": x * self.w, "total": tf.reduce_sum(x * self.w, axis=1)}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
  def length(self, text):
    return tf.strings.length(text)


def _export(root, module=None, **kwargs):
  module = module or Scaler()
  args = dict(export_root=root, model_name="toy", domain="tests")
  args.update(kwargs)
  return publish.export_saved_model(
      module, {"scale": module.scale.get_concrete_function(), "length": module.length}, **args)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
  root = tmp_path_factory.mktemp("exports")
  labels = root / "labels.txt"
  labels.write_text("cat\ndog\n")
  cfg = ml_collections.ConfigDict({"model": {"depth": 20}, "lr": 0.1})
  export_dir = _export(
      root, config=cfg, metrics={"rmse": np.float32(0.5), "per_class": {"cat": float("nan")}},
      baseline_metrics={"rmse": 1.25}, data_fingerprint="sha256:abc",
      assets={"labels.txt": str(labels)}, custom_ops=["tensorflow_text"],
      default_signature="scale")
  return root, export_dir


def test_layout_is_tf_serving_versioned(exported):
  root, export_dir = exported
  assert export_dir == root / "toy" / "1"
  for name in ("saved_model.pb", "variables", "assets/labels.txt", "assets.extra/metadata.json"):
    assert (export_dir / name).exists(), name
  assert (export_dir / "assets" / "labels.txt").read_text() == "cat\ndog\n"


def test_metadata_records_model_signatures_config_metrics_and_provenance(exported):
  _, export_dir = exported
  meta = metadata.read(export_dir)
  assert (meta["model_name"], meta["version"], meta["domain"]) == ("toy", 1, "tests")
  scale = meta["signatures"]["scale"]
  assert scale["inputs"] == {"x": {"dtype": "float32", "shape": [-1, 3]}}
  assert scale["outputs"] == {"total": {"dtype": "float32", "shape": [-1]},
                              "y": {"dtype": "float32", "shape": [-1, 3]}}
  # A bare tensor output gets TF's name "output_0".
  assert meta["signatures"]["length"]["outputs"] == {"output_0": {"dtype": "int32", "shape": [-1]}}
  assert meta["signatures"]["length"]["inputs"]["text"]["dtype"] == "string"
  assert meta["signatures"]["serving_default"] == scale
  assert meta["config"] == {"model": {"depth": 20}, "lr": 0.1}
  assert meta["metrics"] == {"rmse": 0.5, "per_class": {"cat": None}}  # NaN -> null
  assert meta["baseline_metrics"] == {"rmse": 1.25}
  assert meta["data_fingerprint"] == "sha256:abc"
  assert meta["custom_ops"] == ["tensorflow_text"]
  assert meta["assets"] == ["labels.txt"]
  assert meta["tensorflow_version"] == tf.__version__
  created = datetime.datetime.fromisoformat(meta["created_at"].replace("Z", "+00:00"))
  assert abs(datetime.datetime.now(datetime.UTC) - created).total_seconds() < 600
  rev = meta["source_revision"]
  assert rev == "unknown" or len(rev.removesuffix("-dirty")) == 40


def test_load_round_trips_predictions(exported):
  _, export_dir = exported
  loaded = publish.load(export_dir.parent)  # a model dir resolves to its newest version
  x = np.array([[1.0, 2.0, 3.0]], np.float32)
  out = loaded.signatures["scale"](x=tf.constant(x))
  in_process = Scaler()
  np.testing.assert_allclose(out["y"].numpy(), in_process.scale(x)["y"].numpy())
  np.testing.assert_allclose(out["total"].numpy(), [12.0])  # 2 * (1 + 2 + 3)


def test_load_names_a_missing_custom_op_module(exported, tmp_path):
  _, export_dir = exported
  meta = metadata.read(export_dir)
  meta["custom_ops"] = ["no_such_ops_module"]
  copy = tmp_path / "toy" / "1"
  import shutil
  shutil.copytree(export_dir, copy)
  metadata.write(copy, meta)
  with pytest.raises(publish.ExportError, match="needs custom ops from 'no_such_ops_module'"):
    publish.load(copy)


def test_next_export_takes_next_version_and_failures_publish_nothing(exported, monkeypatch):
  root, _ = exported
  assert _export(root, Scaler(3.0)).name == "2"
  monkeypatch.setattr(metadata, "build", lambda **_: 1 / 0)
  with pytest.raises(ZeroDivisionError):
    _export(root)
  assert versions.list_versions(root / "toy") == [1, 2]
  assert not [p for p in (root / "toy").iterdir() if p.name.startswith(".staging")]


def test_concurrent_exporters_do_not_collide(tmp_path):
  results, errors = [], []

  def run(w):
    try:
      results.append((w, _export(tmp_path, Scaler(w))))
    except Exception as e:  # reported by the assertion below
      errors.append(e)

  threads = [threading.Thread(target=run, args=(float(w),)) for w in (1, 2)]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  assert errors == []
  assert sorted(d.name for _, d in results) == ["1", "2"]
  for w, d in results:  # each version holds its own exporter's weights and number
    assert metadata.read(d)["version"] == int(d.name)
    out = tf.saved_model.load(str(d)).signatures["scale"](x=tf.ones([1, 3]))
    np.testing.assert_allclose(out["total"].numpy(), [3 * w])


@pytest.mark.parametrize("kwargs, message", [
    (dict(model_name="bad name"), "model_name 'bad name' must be"),
    (dict(domain=""), "domain must be set"),
    (dict(assets={"labels.txt": "/no/such/file"}), "file /no/such/file does not exist"),
    (dict(assets={"../x": __file__}), "must be a plain file name"),
    (dict(custom_ops=["no_such_ops_module"]), "pip install no-such-ops-module"),
    (dict(default_signature="predict"), "default_signature 'predict' is not one of"),
])
def test_bad_requests_are_refused_before_writing(tmp_path, kwargs, message):
  with pytest.raises(publish.ExportError, match=message):
    _export(tmp_path, **kwargs)
  assert not (tmp_path / "toy").exists() or versions.list_versions(tmp_path / "toy") == []


def test_signatures_must_be_functions(tmp_path):
  with pytest.raises(publish.ExportError, match="signatures is empty"):
    publish.export_saved_model(Scaler(), {}, export_root=tmp_path, model_name="m", domain="d")
  with pytest.raises(publish.ExportError, match="signature 'f' is a function"):
    publish.export_saved_model(Scaler(), {"f": lambda x: x}, export_root=tmp_path,
                               model_name="m", domain="d")


def test_metadata_read_errors_say_what_to_do(exported, tmp_path):
  _, export_dir = exported
  with pytest.raises(metadata.MetadataError, match="does not exist"):
    metadata.read(tmp_path / "missing")
  bare = tmp_path / "m" / "1"
  bare.mkdir(parents=True)
  (bare / "saved_model.pb").write_bytes(b"")
  with pytest.raises(metadata.MetadataError, match=r"not exported with common\.export"):
    metadata.read(bare)
  (bare / "assets.extra").mkdir()
  (bare / "assets.extra" / "metadata.json").write_text("{not json")
  with pytest.raises(metadata.MetadataError, match="not readable JSON"):
    metadata.read(bare)
  (bare / "assets.extra" / "metadata.json").write_text(json.dumps({"model_name": "m"}))
  with pytest.raises(metadata.MetadataError, match="lacks format_version, version"):
    metadata.read(bare)
  newer = {**metadata.read(export_dir), "format_version": 99}
  metadata.write(bare, newer)
  with pytest.raises(metadata.MetadataError, match="newer than this reader"):
    metadata.read(bare)


def test_source_revision_env_override_and_non_repo(monkeypatch, tmp_path):
  monkeypatch.setenv("TRELLIS_SOURCE_REVISION", "abc123")
  assert metadata.source_revision() == "abc123"
  monkeypatch.delenv("TRELLIS_SOURCE_REVISION")
  assert metadata.source_revision(tmp_path) == "unknown"


def test_to_json_value_rejects_objects_naming_the_key():
  with pytest.raises(metadata.MetadataError, match=r"metrics.model is a object"):
    metadata.to_json_value({"model": object()}, "metrics")


class Tokens(tf.Module):
  """Counts whitespace tokens with tensorflow-text, an op stock TensorFlow lacks."""

  def __init__(self):
    super().__init__()
    import tensorflow_text as tf_text

    self.tokenizer = tf_text.WhitespaceTokenizer()

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
  def count(self, text):
    return {"num_tokens": self.tokenizer.tokenize(text).row_lengths()}


def test_tensorflow_text_ops_are_detected_and_recorded_without_being_asked(tmp_path):
  module = Tokens()
  export_dir = publish.export_saved_model(
      module, {"count": module.count}, export_root=tmp_path, model_name="tok", domain="tests")
  meta = metadata.read(export_dir)
  assert meta["custom_ops"] == ["tensorflow_text"]
  assert "TFText>WhitespaceTokenizeWithOffsetsV2" in meta["custom_op_names"]
  out = publish.load(export_dir).signatures["count"](text=tf.constant(["a b c", "hi"]))
  np.testing.assert_array_equal(out["num_tokens"].numpy(), [3, 1])


def test_unknown_non_core_ops_need_custom_ops():
  with pytest.raises(publish.ExportError, match=r"ops that core TensorFlow does not have \(Mine>Op\)"):
    publish._custom_op_modules(["Mine>Op"], [])
  assert publish._custom_op_modules(["Mine>Op"], ["my_ops"]) == ["my_ops"]
  assert publish._custom_op_modules([], []) == []


def test_object_store_export_writes_metadata_last_and_loads_back(tmp_path, monkeypatch):
  # ram:// has the same contract as gs:// here (no atomic directory rename is relied upon):
  # the version is written in place and metadata.json must be its last file.
  labels = tmp_path / "labels.txt"
  labels.write_text("cat\n")
  written_before_metadata = []
  real_write = metadata.write

  def checking_write(version_dir, meta):
    written_before_metadata.extend(
        name for _, _, files in tf.io.gfile.walk(version_dir) for name in files)
    assert not tf.io.gfile.exists(f"{version_dir}/assets.extra/metadata.json")
    return real_write(version_dir, meta)

  monkeypatch.setattr(metadata, "write", checking_write)
  export_dir = _export("ram://publish_test/exports", assets={"labels.txt": str(labels)},
                       warmup_requests={"length": {"text": [b"abc"]}})
  assert export_dir == "ram://publish_test/exports/toy/1"
  assert {"saved_model.pb", "labels.txt", "tf_serving_warmup_requests"} <= set(
      written_before_metadata)
  assert versions.list_versions("ram://publish_test/exports/toy") == [1]
  assert metadata.read("ram://publish_test/exports/toy")["version"] == 1
  out = publish.load("ram://publish_test/exports/toy").signatures["scale"](
      x=tf.ones([1, 3]))
  np.testing.assert_allclose(out["y"].numpy(), [[2.0, 2.0, 2.0]])
  assert _export("ram://publish_test/exports") == "ram://publish_test/exports/toy/2"
  assert not tf.io.gfile.exists("ram:")  # no local folder named after the scheme


def test_object_store_export_that_fails_leaves_nothing_and_half_versions_are_not_loaded(
    monkeypatch):
  root = "ram://publish_test/failing"
  _export(root)
  monkeypatch.setattr(metadata, "write", lambda *a: (_ for _ in ()).throw(OSError("bucket gone")))
  with pytest.raises(OSError, match="bucket gone"):
    _export(root)
  assert versions.list_versions(f"{root}/toy") == [1]  # the partial version 2 was deleted
  monkeypatch.undo()
  # A version still being written (no metadata.json yet) is skipped by loaders.
  tf.io.gfile.makedirs(f"{root}/toy/2/variables")
  with tf.io.gfile.GFile(f"{root}/toy/2/saved_model.pb", "wb") as f:
    f.write(b"half")
  assert versions.resolve(f"{root}/toy") == f"{root}/toy/1"
  with pytest.raises(publish.ExportError, match=r"version 2 .* already exists"):
    _export(root, version=2)
  assert _export(root) == f"{root}/toy/3"  # never writes into the half-written one
