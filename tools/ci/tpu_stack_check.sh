#!/usr/bin/env bash
# CI: the TPU software stack, short of TPU hardware (infra/tpu/README.md, "The software on the hosts").
#
# 1. `make setup-tpu`: the TPU lock (requirements-tpu.txt: tensorflow-tpu + libtpu) in .venv-tpu,
#    checked to hold exactly one TensorFlow build;
# 2. every domain's TPU config trains a few steps on this CPU, as a TPU runs it:
#    `distribution.tpu.cpu_rehearsal` keeps kind=tpu's rules (static shapes, mixed_bfloat16,
#    steps_per_execution) without a TPU system (common/distribute/strategy.py), twice:
#    - under .venv-tpu, the TPU build the hosts run (TensorFlow 2.20, tf-keras/text 2.20). That
#      build has no XLA CPU backend ("could not find registered transfer manager for platform
#      Host"), so here the train step runs as a graph;
#    - under .venv (the CPU build), with the train step XLA-compiled (jit_compile), as on a TPU;
# 3. each run's train_log.csv must hold a finite loss for every epoch.
#
# Data: a tiny shop world (generated here, ~15 s) for every domain. Batch sizes, steps and
# history lengths are cut down on the command line; everything else is the TPU config's.
set -euo pipefail
cd "$(dirname "$0")/../.."

make setup-tpu
# Off a TPU VM, loading libtpu asks the GCE metadata server for the TPU's shape for minutes.
export TPU_LOAD_LIBRARY=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "tpu_stack_check: $(.venv-tpu/bin/python -m pip list 2>/dev/null | grep -i -E '^(tensorflow|tf-keras|tf_keras|libtpu)' | tr -s ' ' | paste -sd, -)"
.venv-tpu/bin/python -m common.shopworld.generate --out_dir="$tmp/world" --size=tiny > /dev/null

REHEARSE=(--config.distribution.tpu.cpu_rehearsal=true --config.distribution.steps_per_execution=2)
# Known failures of domain code on the TPU path, found by this step (strict, like pytest's xfail:
# the run must fail with this message, and the step fails once it passes, so the entry goes).
declare -A KNOWN=()
status=0
# run VENV NAME MODULE ARGS...: trains under a time limit, then checks the losses it logged.
run() {
  local PY=$1/bin/python name=$2-$(basename "$1") module=$3 start=$SECONDS; shift 3
  echo "tpu_stack_check: $name: $PY -m $module $*"
  if ! timeout 900 "$PY" -m "$module" --workdir="$tmp/$name" "$@" "${REHEARSE[@]}" \
      > "$tmp/$name.log" 2>&1; then
    if [[ -n "${KNOWN[$name]:-}" ]] && grep -qF -- "${KNOWN[$name]}" "$tmp/$name.log"; then
      echo "tpu_stack_check: $name: KNOWN FAILURE: ${KNOWN[$name]}"; return
    fi
    tail -40 "$tmp/$name.log"; echo "tpu_stack_check: $name: FAILED (log above)"; status=1; return
  fi
  if [[ -n "${KNOWN[$name]:-}" ]]; then
    echo "tpu_stack_check: $name: passed but is listed in KNOWN; remove it"; status=1
  fi
  grep -E "^distribution: (TensorFlow|kind=tpu)" "$tmp/$name.log" | sed "s/^/  /" || true
  if "$PY" - "$tmp/$name" <<'PY'
import csv, math, pathlib, sys
logs = sorted(pathlib.Path(sys.argv[1]).rglob("train_log.csv"))
assert logs, f"no train_log.csv under {sys.argv[1]}"
rows = list(csv.DictReader(logs[0].open()))
losses = [float(r["loss"]) for r in rows]
assert losses and all(math.isfinite(x) for x in losses), f"losses {losses}"
print(f"  loss per epoch: {', '.join(f'{x:.4f}' for x in losses)} (finite)")
PY
  then echo "tpu_stack_check: $name: OK in $((SECONDS - start)) s"
  else echo "tpu_stack_check: $name: FAILED"; status=1; fi
}

for venv in .venv-tpu .venv; do
  run $venv vision vision.main --config=vision/configs/resnet50_tpu_small.py \
    --config.data.source=shopworld --config.data.path="$tmp/world" \
    --config.resnet.image_size=32 --config.batch_size=16 --config.steps_per_epoch=4 \
    --config.epochs=1 --config.eval_steps=0
  run $venv text sequences.text.main --config=sequences/text/configs/tpu.py \
    --config.data.source=shopworld --config.data.path="$tmp/world" \
    --config.batch_size=32 --config.epochs=1 --config.tokenizer.vocab_size=500
  run $venv timeseries sequences.timeseries.main --config=sequences/timeseries/configs/tpu.py \
    --config.data.source=demand --config.data.path="$tmp/world" --config.data.split=fraction \
    --config.batch_size=32 --config.epochs=1 --config.lookback=48 --config.horizon=24
  # The shop world, not MovieLens: its ~2,300 examples are 8 steps, where MovieLens's ~99K would
  # be ~390 of a GRU that XLA's CPU backend runs slowly (seconds a step; infra/tpu/README.md).
  run $venv recsys recsys.main --config=recsys/configs/tpu.py \
    --config.data.source=shopworld --config.data.path="$tmp/world" \
    --config.batch_size=256 --config.epochs=1 --config.model.max_history=10
done
echo "tpu_stack_check: $([ "$status" = 0 ] && echo OK || echo FAILED) in $SECONDS s"
exit "$status"
