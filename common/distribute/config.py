"""The distribution block every training config embeds.

A domain's `configs/default.py` does::

    from common.distribute import config as distribute_config
    config.distribution = distribute_config.get_config()

and a run switches engines from the command line, e.g.
`--config.distribution.kind=mirrored --config.distribution.num_cpu_devices=2`, or in a variant
config (`configs/tpu.py`: `kind = "tpu"`, `precision = "mixed_bfloat16"`, `steps_per_execution = 100`).
"""

import ml_collections

KINDS = ("default", "mirrored", "multi_worker", "tpu", "horovod")
PRECISIONS = ("auto", "float32", "mixed_bfloat16")


def get_config() -> ml_collections.ConfigDict:
  """Returns the default distribution config: one device, float32, one step per call."""
  config = ml_collections.ConfigDict()
  # default | mirrored | multi_worker | tpu | horovod (see strategy.create).
  config.kind = "default"
  # mirrored only: split this machine's CPU into N logical devices (0 = use the GPUs or the one
  # CPU as found). Lets a laptop run the data-parallel code path that a GPU box or TPU runs.
  config.num_cpu_devices = 0
  # auto | float32 | mixed_bfloat16 (bfloat16 compute, float32 variables: what TPUs and AMX-BF16
  # CPUs want). auto = mixed_bfloat16 on TPU, float32 elsewhere.
  config.precision = "auto"
  # Train steps per tf.function call: amortises host overhead (TPUs want ~100).
  # 0 = auto: 100 on TPU, 1 elsewhere.
  config.steps_per_execution = 0
  # Compile the train step with XLA (`model.compile(jit_compile=True)`). On this AVX2 CPU it made
  # a ResNet-20 step 1.8x faster (vision/README.md); models with string ops (lookups of raw ids,
  # tokenizers) cannot be compiled. TPUs always compile with XLA, whatever this says.
  config.jit_compile = False
  # multi_worker only: the collective all-reduce implementation (AUTO | RING | NCCL).
  config.communication = "AUTO"
  config.tpu = ml_collections.ConfigDict()
  # "local" on a TPU VM (single host); a TPU or pod-slice name resolved through the Cloud TPU API;
  # or explicit "grpc://host:port[,grpc://host:port...]" worker addresses.
  config.tpu.name = "local"
  config.tpu.zone = ""
  config.tpu.project = ""
  # Seconds to wait for the Cloud TPU API, the TPU workers' ports and TPU system initialisation
  # before failing with an error (instead of hanging when no TPU is reachable).
  config.tpu.timeout_s = 60.0
  # kind=tpu only: rehearse the TPU path on this machine's CPU, with no TPU system: one device,
  # but every rule the TPU path applies (static batch shapes, precision auto -> mixed_bfloat16,
  # steps_per_execution auto -> 100) plus XLA compilation of the train step (jit_compile), which
  # TPUs always do. What CI runs each domain's TPU config with (tools/ci/tpu_stack_check.sh).
  config.tpu.cpu_rehearsal = False
  return config
