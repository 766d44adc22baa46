"""The strategy factory: the one place that knows which engine a training job runs on.

    from common.distribute import strategy as strategy_lib

    strategy = strategy_lib.create(cfg.distribution)
    with strategy.scope():
      model = create_model(cfg)
      model.compile(optimizer, loss, steps_per_execution=strategy_lib.steps_per_execution(cfg.distribution))
    train_ds = strategy_lib.distribute(strategy, dataset_fn, global_batch_size=cfg.batch_size)
    fit_lib.fit(model, train_ds, ...)

Kinds (`cfg.kind`):

* `default`: TensorFlow's default strategy (one device).
* `mirrored`: `MirroredStrategy` over this machine's GPUs, or over `num_cpu_devices` logical CPUs.
* `multi_worker`: `MultiWorkerMirroredStrategy` (collective all-reduce) over the cluster in
  `TF_CONFIG`, which our launcher (`//common/distribute:launch`), Kubernetes or Vertex AI sets.
* `tpu`: `TPUStrategy` on a TPU VM (`tpu.name=local`), a named TPU or a pod slice; with
  `tpu.cpu_rehearsal`, this machine's CPU under the TPU rules and XLA (no TPU needed).
* `horovod`: Horovod's all-reduce across processes started by `horovodrun` (horovod_backend.py).

Rules a TPU needs are applied here, so domains write them once for every engine: batch sizes are
global and split per replica by `distribute`; on TPU batches get static shapes (`drop_remainder`);
`steps_per_execution` and the `mixed_bfloat16` policy default to TPU-appropriate values.

`create` must run before any other TensorFlow op in the process (logical CPU devices and collective
ops can only be configured before the runtime starts).
"""

import json
import logging
import os
from collections.abc import Callable

import tensorflow as tf

from common.distribute import config as config_lib
from common.distribute import cpu, horovod_backend, tf_build, tpu

_TPU_STEPS_PER_EXECUTION = 100
# The strategy `create` returned for a CPU rehearsal of the TPU path (kind=tpu,
# tpu.cpu_rehearsal): `is_tpu` treats it as a TPU so domains apply the TPU rules unchanged.
_cpu_rehearsal_strategy: tf.distribute.Strategy | None = None
_LAUNCH_HINT = ("start the workers with `bazel run //common/distribute:launch -- --workers N -- "
                "<command>`, which sets TF_CONFIG for each")


def validate(cfg) -> None:
  """Raises ValueError naming the field when `cfg` (a distribution block) is invalid."""
  if cfg.kind not in config_lib.KINDS:
    raise ValueError(f"distribution.kind={cfg.kind!r} is unknown; use one of "
                     f"{', '.join(config_lib.KINDS)}.")
  if cfg.precision not in config_lib.PRECISIONS:
    raise ValueError(f"distribution.precision={cfg.precision!r} is unknown; use one of "
                     f"{', '.join(config_lib.PRECISIONS)}.")
  if cfg.steps_per_execution < 0:
    raise ValueError(f"distribution.steps_per_execution={cfg.steps_per_execution} must be >= 1 "
                     "(or 0 for the automatic choice).")
  if cfg.num_cpu_devices < 0 or (cfg.num_cpu_devices and cfg.kind != "mirrored"):
    raise ValueError(f"distribution.num_cpu_devices={cfg.num_cpu_devices} only applies to "
                     "kind=mirrored (and must be >= 0); set kind=mirrored or num_cpu_devices=0.")


def precision(cfg) -> str:
  """The Keras mixed-precision policy name `cfg` resolves to (auto = bfloat16 on TPU only)."""
  if cfg.precision == "auto":
    return "mixed_bfloat16" if cfg.kind == "tpu" else "float32"
  return cfg.precision


def steps_per_execution(cfg) -> int:
  """Train steps per `tf.function` call for `model.compile` (auto = 100 on TPU, else 1)."""
  validate(cfg)
  if cfg.steps_per_execution:
    return cfg.steps_per_execution
  return _TPU_STEPS_PER_EXECUTION if cfg.kind == "tpu" else 1


def jit_compile(cfg) -> bool:
  """Whether `model.compile` should XLA-compile the train step (config `jit_compile`).

  Always on in a CPU rehearsal of the TPU path (a TPU compiles every step with XLA), except
  under the TPU build of TensorFlow: tensorflow-tpu has no XLA CPU backend ("could not find
  registered transfer manager for platform Host"), so there the rehearsal runs the step as a
  graph and the XLA half is rehearsed with the CPU build (tools/ci/tpu_stack_check.sh does both).
  """
  validate(cfg)
  if _rehearses_tpu(cfg):
    return not tf_build.is_tpu_build()
  return bool(cfg.jit_compile)


def _rehearses_tpu(cfg) -> bool:
  return cfg.kind == "tpu" and bool(cfg.tpu.get("cpu_rehearsal", False))


def create(cfg) -> tf.distribute.Strategy:
  """Creates the strategy `cfg.kind` names and sets the global mixed-precision policy.

  Args:
    cfg: the `distribution` config block (common/distribute/config.py).

  Returns:
    A `tf.distribute.Strategy`. For `horovod` this is the default strategy of this process;
    Horovod itself joins the processes (see horovod_backend.py).

  Raises:
    ValueError: an invalid config, or a multi-worker job without TF_CONFIG.
    tpu.TPUUnavailableError: kind=tpu but no TPU is reachable (after at most tpu.timeout_s).
  """
  global _cpu_rehearsal_strategy
  validate(cfg)
  # First line of every trainer's log: which TensorFlow build (CPU or TPU package) runs it.
  print(f"distribution: {tf_build.describe()}", flush=True)
  if _rehearses_tpu(cfg):
    strategy = _cpu_rehearsal_strategy = tf.distribute.get_strategy()
    xla = ("XLA-compiled train step" if jit_compile(cfg) else
           "train step not XLA-compiled (the TPU build of TensorFlow has no XLA CPU backend)")
    print("distribution: kind=tpu rehearsed on this CPU (tpu.cpu_rehearsal): no TPU system; "
          f"static shapes, precision {precision(cfg)}, steps_per_execution "
          f"{steps_per_execution(cfg)}, {xla}", flush=True)
  elif cfg.kind == "default":
    strategy = tf.distribute.get_strategy()
  elif cfg.kind == "mirrored":
    strategy = tf.distribute.MirroredStrategy(devices=_mirrored_devices(cfg.num_cpu_devices))
  elif cfg.kind == "multi_worker":
    strategy = _multi_worker(cfg)
  elif cfg.kind == "tpu":
    strategy = tpu.initialize(cfg.tpu)
  else:
    horovod_backend.init()
    strategy = tf.distribute.get_strategy()
  tf.keras.mixed_precision.set_global_policy(precision(cfg))
  if (precision(cfg) == "mixed_bfloat16" and cfg.kind != "tpu" and not cpu.native_bfloat16()
      and not tf.config.list_physical_devices("GPU")):
    logging.warning(
        "distribution.precision=mixed_bfloat16 on %s: without AVX-512 BF16 or AMX every bfloat16 "
        "op is emulated and training runs several times slower than float32. Use "
        "distribution.precision=float32 (or auto) on this machine; keep mixed_bfloat16 for TPUs.",
        cpu.describe())
  logging.info("distribution: kind=%s replicas=%d precision=%s", cfg.kind, num_replicas(strategy),
               precision(cfg))
  return strategy


def _mirrored_devices(num_cpu_devices: int) -> list[str] | None:
  if not num_cpu_devices:
    return None  # MirroredStrategy's default: all GPUs, else the CPU.
  cpu = tf.config.list_physical_devices("CPU")[0]
  current = tf.config.get_logical_device_configuration(cpu)
  if current is None or len(current) != num_cpu_devices:
    try:
      tf.config.set_logical_device_configuration(
          cpu, [tf.config.LogicalDeviceConfiguration()] * num_cpu_devices)
    except RuntimeError as e:
      raise RuntimeError(
          f"distribution.num_cpu_devices={num_cpu_devices} cannot be applied: TensorFlow already "
          f"started with {len(current or [None])} CPU device(s). Call strategy.create() before any "
          "other TensorFlow op in the process.") from e
  return [f"/cpu:{i}" for i in range(num_cpu_devices)]


def _multi_worker(cfg) -> tf.distribute.Strategy:
  tf_config = os.environ.get("TF_CONFIG")
  if not tf_config:
    raise ValueError(f"distribution.kind=multi_worker needs the TF_CONFIG environment variable; "
                     f"{_LAUNCH_HINT}.")
  try:
    cluster = json.loads(tf_config)["cluster"]
  except (ValueError, KeyError, TypeError) as e:
    raise ValueError(f"TF_CONFIG is not valid JSON with a 'cluster' key ({e}): {tf_config!r}; "
                     f"{_LAUNCH_HINT}.") from e
  if not cluster:
    raise ValueError(f"TF_CONFIG has an empty cluster; {_LAUNCH_HINT}.")
  implementation = getattr(tf.distribute.experimental.CommunicationImplementation,
                           cfg.communication.upper())
  return tf.distribute.MultiWorkerMirroredStrategy(
      communication_options=tf.distribute.experimental.CommunicationOptions(
          implementation=implementation))


def is_tpu(strategy: tf.distribute.Strategy) -> bool:
  """True on a TPU, and in a CPU rehearsal of one (so the TPU rules apply there too)."""
  if _cpu_rehearsal_strategy is not None and strategy is _cpu_rehearsal_strategy:
    return True
  return isinstance(strategy, (tf.distribute.TPUStrategy, tf.distribute.experimental.TPUStrategy))


def num_replicas(strategy: tf.distribute.Strategy | None = None) -> int:
  """Replicas that share one global batch (Horovod processes count as replicas)."""
  strategy = strategy or tf.distribute.get_strategy()
  return strategy.num_replicas_in_sync * horovod_backend.size()


def per_replica_batch_size(strategy: tf.distribute.Strategy, global_batch_size: int) -> int:
  """`global_batch_size` split over the replicas; errors if it does not divide evenly."""
  replicas = num_replicas(strategy)
  if global_batch_size <= 0 or global_batch_size % replicas:
    raise ValueError(
        f"global batch size {global_batch_size} must be a positive multiple of the {replicas} "
        f"replicas, so that each replica gets the same batch; use e.g. "
        f"{max(1, round(global_batch_size / replicas)) * replicas}.")
  return global_batch_size // replicas


def distribute(strategy: tf.distribute.Strategy,
               dataset_fn: Callable[[tf.distribute.InputContext], tf.data.Dataset],
               global_batch_size: int, *, static_shapes: bool | None = None):
  """Builds each worker's input pipeline from `dataset_fn`, sharded and batched per replica.

  `dataset_fn(input_context)` runs once per input pipeline (one per worker/host) and returns that
  pipeline's batches of `input_context.get_per_replica_batch_size(global_batch_size)` examples,
  reading its own shard (`input_context.input_pipeline_id` of `num_input_pipelines`), as
  `common.data.pipeline.build(..., input_context=input_context)` does.

  Args:
    strategy: from `create`.
    dataset_fn: builds one pipeline's dataset from a `tf.distribute.InputContext`.
    global_batch_size: examples per step over all replicas (what the config states).
    static_shapes: give every batch the same static size (drop the last partial batch), as XLA on
      TPU requires. Defaults to True on TPU.

  Returns:
    A distributed dataset for `model.fit` (a plain dataset under Horovod).
  """
  per_replica = per_replica_batch_size(strategy, global_batch_size)
  if static_shapes is None:
    static_shapes = is_tpu(strategy)

  def checked_fn(input_context: tf.distribute.InputContext) -> tf.data.Dataset:
    ds = dataset_fn(input_context)
    batch_dim = _batch_dim(ds)
    if batch_dim is not None and batch_dim != per_replica:
      raise ValueError(
          f"dataset_fn returned batches of {batch_dim} examples but each of the "
          f"{num_replicas(strategy)} replicas should get {per_replica} (global batch "
          f"{global_batch_size}); batch with input_context.get_per_replica_batch_size("
          f"{global_batch_size}).")
    if static_shapes and batch_dim is None:
      # Cheap: slices existing batches; the final partial batch is dropped so shapes are static.
      ds = ds.rebatch(per_replica, drop_remainder=True)
    return ds

  if horovod_backend.is_active():
    context = tf.distribute.InputContext(
        num_input_pipelines=horovod_backend.size(), input_pipeline_id=horovod_backend.rank(),
        num_replicas_in_sync=horovod_backend.size())
    return checked_fn(context)
  return strategy.distribute_datasets_from_function(checked_fn)


def _batch_dim(ds: tf.data.Dataset) -> int | None:
  spec = tf.nest.flatten(ds.element_spec)[0]
  if not spec.shape.rank:
    raise ValueError(f"dataset_fn must return batched elements; got element spec {ds.element_spec}.")
  return spec.shape[0]


def is_chief() -> bool:
  """True in the one process that writes checkpoints, exports and summaries.

  Under Horovod that is rank 0; in a `TF_CONFIG` cluster the `chief` task, or worker 0 when the
  cluster has no chief (as MultiWorkerMirroredStrategy decides); otherwise the only process.
  """
  if horovod_backend.is_active():
    return horovod_backend.rank() == 0
  tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
  task = tf_config.get("task") or {}
  if not task:
    return True
  cluster = tf_config.get("cluster") or {}
  if task.get("type") == "chief":
    return True
  return task.get("type") == "worker" and int(task.get("index", 0)) == 0 and "chief" not in cluster
