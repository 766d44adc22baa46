"""show_export prints signatures and the metadata summary of a real export."""

import os
import subprocess
import sys

import pytest
import tensorflow as tf

from common.export import publish
from tools import show_export


class Doubler(tf.Module):

  @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
  def double(self, x):
    return {"y": 2.0 * x}


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
  module = Doubler()
  return publish.export_saved_model(
      module, {"double": module.double}, export_root=tmp_path_factory.mktemp("exports"),
      model_name="doubler", domain="tests", config={"model": {"depth": 2}, "lr": 0.5},
      metrics={"rmse": 0.5, "by_class": {"a": 0.25}}, baseline_metrics={"rmse": 2.0},
      data_fingerprint="sha256:feed")


def _run(*args):
  env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
  return subprocess.run([sys.executable, show_export.__file__, *map(str, args)],
                        capture_output=True, text=True, env=env, check=False)


def test_summary_shows_signatures_metrics_with_ratio_and_config(export_dir):
  text = show_export.summarize(export_dir.parent)  # model dir -> newest version
  assert text.splitlines()[0] == "doubler  version 1  (versions here: 1)"
  assert "  data          sha256:feed" in text
  assert "    in   x  float32   [?, 2]" in text
  assert "    out  y  float32   [?, 2]" in text
  metric_lines = [line.split() for line in text.splitlines() if line.strip().startswith("rmse")]
  assert metric_lines == [["rmse", "0.5000", "2.0000", "0.25"]]  # model, baseline, model/baseline
  assert any(line.split()[:2] == ["by_class.a", "0.2500"] for line in text.splitlines())
  assert "  model.depth = 2" in text and "  lr = 0.5" in text


def test_cli_prints_summary_and_json(export_dir):
  proc = _run(export_dir)
  assert proc.returncode == 0, proc.stderr
  assert "signatures" in proc.stdout and "double" in proc.stdout
  proc = _run("--json", export_dir)
  assert proc.returncode == 0 and '"model_name": "doubler"' in proc.stdout


def test_cli_errors_name_the_problem(tmp_path):
  proc = _run(tmp_path / "nope")
  assert proc.returncode == 1
  assert "does not exist; expected <export_root>/<model_name>[/<version>]" in proc.stderr
  proc = _run()
  assert proc.returncode != 0 and "pass one export path" in proc.stderr


def test_plain_saved_model_without_metadata_falls_back_to_signature_defs(tmp_path):
  module = Doubler()
  tf.saved_model.save(module, str(tmp_path / "m" / "1"), signatures={"double": module.double})
  text = show_export.summarize(tmp_path / "m")
  assert "not exported with common.export" in text
  assert "    in   x  float32   [?, 2]" in text
