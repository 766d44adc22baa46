"""Which TensorFlow build this process runs: the package that provides `tensorflow`, and for what.

The `tensorflow` module comes from one of several PyPI distributions: `tensorflow` (the CPU/GPU
build), `tensorflow-tpu` (the build that links libtpu and can drive a Cloud TPU) and a few others.
They install the same module, so `tf.__version__` alone cannot tell a host that can train on its
TPU from one that cannot. A trainer prints `describe()` at start (strategy.create does), which
makes a TPU job started in the wrong environment (e.g. `.venv`, not `.venv-tpu`;
infra/tpu/tpu_env.sh) visible in its first log line.
"""

import contextlib
import importlib.metadata

import tensorflow as tf

# Every distribution name that installs the `tensorflow` module, with the hardware it targets.
DISTRIBUTIONS = {
    "tensorflow-tpu": "TPU", "tf-nightly-tpu": "TPU",
    "tensorflow": "CPU/GPU", "tensorflow-cpu": "CPU", "tensorflow-gpu": "GPU",
    "tensorflow-intel": "CPU", "tensorflow-macos": "CPU", "tensorflow-aarch64": "CPU",
    "tensorflow-rocm": "GPU", "tf-nightly": "CPU/GPU", "tf-nightly-cpu": "CPU",
}


def installed() -> dict[str, str]:
  """{distribution: version} of every installed distribution that provides `tensorflow`."""
  found = {}
  for name in DISTRIBUTIONS:
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
      found[name] = importlib.metadata.version(name)
  return found


def is_tpu_build() -> bool:
  """True when the `tensorflow` module is a TPU build (its distribution is tensorflow-tpu)."""
  return any(DISTRIBUTIONS[name] == "TPU" for name in installed())


def describe() -> str:
  """One line: module version, the distribution(s) behind it, and libtpu if installed.

  e.g. `TensorFlow 2.20.0 (tensorflow-tpu 2.20.0: TPU build; libtpu 0.0.14)` or
  `TensorFlow 2.21.0 (tensorflow 2.21.0: CPU/GPU build, cannot drive a TPU)`.
  """
  dists = installed()
  if not dists:
    packages = "no known TensorFlow distribution (a source build?)"
  else:
    packages = ", ".join(f"{name} {version}: {DISTRIBUTIONS[name]} build"
                         for name, version in dists.items())
    if len(dists) > 1:
      packages += (" -- more than one TensorFlow distribution is installed; they overwrite each "
                   "other's files (reinstall the environment: `make setup-tpu` / `make setup`)")
  if is_tpu_build():
    try:
      packages += f"; libtpu {importlib.metadata.version('libtpu')}"
    except importlib.metadata.PackageNotFoundError:
      packages += "; no libtpu package (the TPU VM image must provide it)"
  else:
    packages += ", cannot drive a TPU"
  return f"TensorFlow {tf.__version__} ({packages})"
