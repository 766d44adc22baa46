#!/usr/bin/env bash
# Builds Horovod 0.28.1 (its last release) from source into the project's .venv,
# against the TensorFlow pinned in requirements.txt, with Gloo and without MPI.
#
# Why from source, and why a patch: Horovod ships no wheels, and 0.28.1 does not
# compile against TensorFlow >= 2.16 as released, because
# horovod/tensorflow/xla_mpi_ops.cc includes an XLA header that moved. That file
# only provides XLA-compiled collectives (for `jit_compile` GPU graphs, which we
# do not use); tightening its guard from `>= 2.6` to `>= 2.6 && < 2.16` compiles
# those ops out and leaves everything else as released.
#
# Idempotent: returns at once when `import horovod.tensorflow` already works.
# Takes about 3.5 minutes on 2 cores. Run through `make horovod`.
set -euo pipefail

cd "$(dirname "$0")/../.."
PY="${PY:-.venv/bin/python}"
VERSION=0.28.1
SHA256=92a43f5a94c43907a56805bad15f19700c62ffc83b7ca483f9e104e229f67ef0
# Horovod's runtime dependency that the rest of trellis does not need
# (cloudpickle, pyyaml and packaging already come with requirements.txt).
EXTRA_PINS="psutil==7.2.2"

if [[ ! -x "$PY" ]]; then
  echo "error: $PY not found; run \`make venv\` first (or set PY=/path/to/python)." >&2
  exit 1
fi

if "$PY" -c "import horovod.tensorflow" >/dev/null 2>&1; then
  echo "horovod: $("$PY" -c 'import horovod; print(horovod.__version__)') already importable; nothing to do."
  exit 0
fi

for tool in cmake g++ make; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: building Horovod needs '$tool'; install it (apt-get install cmake g++ make) and rerun \`make horovod\`." >&2
    exit 1
  fi
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "horovod: downloading the $VERSION source distribution"
"$PY" -m pip download --quiet --no-deps --no-binary :all: "horovod==$VERSION" -d "$work"
tarball="$work/horovod-$VERSION.tar.gz"
echo "$SHA256  $tarball" | sha256sum --check --quiet || {
  echo "error: $tarball does not have the expected sha256 $SHA256; refusing to build it." >&2
  exit 1
}
tar -xzf "$tarball" -C "$work"
src="$work/horovod-$VERSION"

echo "horovod: patching xla_mpi_ops.cc (XLA ops compiled out for TensorFlow >= 2.16)"
target="$src/horovod/tensorflow/xla_mpi_ops.cc"
old='#if TENSORFLOW_VERSION >= 2006000000'
new='#if TENSORFLOW_VERSION >= 2006000000 \&\& TENSORFLOW_VERSION < 2016000000'
if [[ "$(grep -c "^$old\$" "$target")" != 1 ]]; then
  echo "error: expected exactly one line '$old' in $target; the source changed, update this script." >&2
  exit 1
fi
sed -i "s/^$old\$/$new/" "$target"
grep -q '^#if TENSORFLOW_VERSION >= 2006000000 && TENSORFLOW_VERSION < 2016000000$' "$target"

echo "horovod: building (TensorFlow + Gloo, no MPI/PyTorch/MXNet); about 3.5 min on 2 cores"
"$PY" -m pip install --quiet $EXTRA_PINS
# --no-build-isolation: Horovod's setup reads compile flags from the installed TensorFlow.
HOROVOD_WITH_TENSORFLOW=1 HOROVOD_WITHOUT_PYTORCH=1 HOROVOD_WITHOUT_MXNET=1 \
HOROVOD_WITH_GLOO=1 HOROVOD_WITHOUT_MPI=1 HOROVOD_GPU_OPERATIONS= \
MAKEFLAGS="-j$(nproc)" \
  "$PY" -m pip install --no-build-isolation --no-deps --no-cache-dir "$src"

"$PY" -c "import horovod.tensorflow as hvd; print('horovod', hvd.__version__ if hasattr(hvd, '__version__') else '', 'built: gloo', hvd.gloo_built(), 'mpi', hvd.mpi_built())"
