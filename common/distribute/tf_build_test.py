"""Tests for the TensorFlow build description printed at the start of every trainer."""

import importlib.metadata

import tensorflow as tf

from common.distribute import tf_build


def test_describe_names_the_installed_distribution_and_version():
  line = tf_build.describe()
  assert line.startswith(f"TensorFlow {tf.__version__} (")
  dists = tf_build.installed()
  assert dists, "the test environment has a TensorFlow distribution"
  for name, version in dists.items():
    assert f"{name} {version}" in line
  # .venv holds the CPU build; .venv-tpu (infra/tpu/tpu_env.sh) the TPU build.
  if tf_build.is_tpu_build():
    assert "TPU build" in line and "libtpu" in line
  else:
    assert "cannot drive a TPU" in line


def test_two_distributions_are_called_out(monkeypatch):
  versions = {"tensorflow": "2.20.0", "tensorflow-tpu": "2.20.0", "libtpu": "0.0.14"}

  def version(name):
    if name not in versions:
      raise importlib.metadata.PackageNotFoundError(name)
    return versions[name]

  monkeypatch.setattr(importlib.metadata, "version", version)
  assert tf_build.installed() == {"tensorflow-tpu": "2.20.0", "tensorflow": "2.20.0"}
  line = tf_build.describe()
  assert "more than one TensorFlow distribution" in line
  assert "libtpu 0.0.14" in line
