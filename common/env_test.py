"""The legacy-Keras switch is on before TensorFlow is imported, in every process."""

import os
import subprocess
import sys


def test_legacy_keras_is_on_before_tensorflow_import():
  assert os.environ.get("TF_USE_LEGACY_KERAS") == "1"
  import tensorflow as tf

  # tf.keras must be Keras 2 (tf_keras): tensorflow-recommenders needs it.
  assert tf.keras.layers.Dense.__module__.startswith("tf_keras"), tf.keras.layers.Dense.__module__


def test_plain_python_gets_it_from_the_venv_without_any_environment():
  # Bazel's --test_env sets the variable for this process; a plain `python` (or a `bazel run`
  # binary, whose environment Bazel does not scrub) must get it from the venv's trellis_env.pth,
  # which `make setup` installs. Start the interpreter with the variable removed to prove it.
  env = {k: v for k, v in os.environ.items() if k not in ("TF_USE_LEGACY_KERAS", "TF_CPP_MIN_LOG_LEVEL")}
  out = subprocess.run(
      [sys.executable, "-c", "import os; print(os.environ.get('TF_USE_LEGACY_KERAS'))"],
      env=env, capture_output=True, text=True, check=True, timeout=60)
  assert out.stdout.strip() == "1", (
      "the venv's interpreter did not set TF_USE_LEGACY_KERAS=1: is .venv/lib/python3.11/"
      f"site-packages/trellis_env.pth installed (make setup)? stderr: {out.stderr}")
