"""Tests for the strategy factory: config validation, engines, batching rules and TPU rules."""

import json
import time

import numpy as np
import pytest
import tensorflow as tf

from common.distribute import config as config_lib
from common.distribute import strategy as strategy_lib


def make_config(**overrides):
  cfg = config_lib.get_config()
  for key, value in overrides.items():
    setattr(cfg, key, value)
  return cfg


# Logical CPU devices can only be configured before TensorFlow starts, i.e. before any test runs.
MIRRORED = strategy_lib.create(make_config(kind="mirrored", num_cpu_devices=2))


@pytest.fixture(autouse=True)
def _restore_policy():
  yield
  tf.keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("field, value, message", [
    ("kind", "gpu", "distribution.kind='gpu' is unknown"),
    ("precision", "float16", "distribution.precision='float16' is unknown"),
    ("steps_per_execution", -1, "distribution.steps_per_execution=-1"),
    ("num_cpu_devices", 2, "only applies to kind=mirrored"),
])
def test_invalid_config_names_the_field(field, value, message):
  with pytest.raises(ValueError, match=message):
    strategy_lib.create(make_config(**{field: value}))


def test_default_strategy_has_one_replica_and_float32():
  strategy = strategy_lib.create(make_config())
  assert strategy_lib.num_replicas(strategy) == 1
  assert tf.keras.mixed_precision.global_policy().name == "float32"
  assert strategy_lib.steps_per_execution(make_config()) == 1


def test_mirrored_uses_the_logical_cpus():
  assert strategy_lib.num_replicas(MIRRORED) == 2
  assert len(tf.config.list_logical_devices("CPU")) == 2
  # Asking again for the same split is fine; a different split after start-up is a clear error.
  assert strategy_lib.num_replicas(
      strategy_lib.create(make_config(kind="mirrored", num_cpu_devices=2))) == 2
  with pytest.raises(RuntimeError, match="before any other TensorFlow op"):
    strategy_lib.create(make_config(kind="mirrored", num_cpu_devices=3))


@pytest.mark.parametrize("native", [True, False])
def test_mixed_bfloat16_policy_is_set_and_emulation_is_warned_about(native, monkeypatch, caplog):
  monkeypatch.setattr(strategy_lib.cpu, "native_bfloat16", lambda: native)
  strategy_lib.create(make_config(precision="mixed_bfloat16"))
  policy = tf.keras.mixed_precision.global_policy()
  assert (policy.compute_dtype, policy.variable_dtype) == ("bfloat16", "float32")
  warned = [r.getMessage() for r in caplog.records if "emulated" in r.getMessage()]
  assert bool(warned) == (not native)
  if warned:
    assert "distribution.precision=float32" in warned[0]


def test_tpu_kind_applies_tpu_rules(monkeypatch):
  # No TPU here: stand in for tpu.initialize and check what the factory does around it.
  monkeypatch.setattr(strategy_lib.tpu, "initialize", lambda cfg: tf.distribute.get_strategy())
  cfg = make_config(kind="tpu")
  strategy_lib.create(cfg)
  assert tf.keras.mixed_precision.global_policy().name == "mixed_bfloat16"
  assert strategy_lib.steps_per_execution(cfg) == 100
  # Explicit settings win over the TPU defaults.
  cfg = make_config(kind="tpu", precision="float32", steps_per_execution=8)
  strategy_lib.create(cfg)
  assert tf.keras.mixed_precision.global_policy().name == "float32"
  assert strategy_lib.steps_per_execution(cfg) == 8


def test_cpu_rehearsal_applies_every_tpu_rule_and_xla(monkeypatch, capsys):
  monkeypatch.setattr(strategy_lib, "_cpu_rehearsal_strategy", None)  # restored after the test
  cfg = make_config(kind="tpu")
  cfg.tpu.cpu_rehearsal = True
  strategy = strategy_lib.create(cfg)
  assert strategy is tf.distribute.get_strategy()
  assert strategy_lib.is_tpu(strategy)  # so domains drop partial batches, as on a TPU
  assert not strategy_lib.is_tpu(MIRRORED)
  assert tf.keras.mixed_precision.global_policy().name == "mixed_bfloat16"
  assert strategy_lib.steps_per_execution(cfg) == 100
  # XLA even though jit_compile is False in the config (not with tensorflow-tpu: no XLA:CPU).
  assert strategy_lib.jit_compile(cfg) == (not strategy_lib.tf_build.is_tpu_build())
  assert not strategy_lib.jit_compile(make_config(kind="tpu"))
  out = capsys.readouterr().out
  assert f"distribution: TensorFlow {tf.__version__} (" in out
  assert "rehearsed on this CPU" in out and "XLA-compiled train step" in out
  # Static shapes follow from is_tpu: 10 rows at batch 4 give two full batches.
  ds = strategy_lib.distribute(strategy, _rows_dataset_fn(10, 4), global_batch_size=4)
  assert ds.element_spec.shape.as_list() == [4]


def test_tpu_that_is_not_there_stops_at_once_with_the_build(capsys):
  # This machine has no TPU: a trainer asked for one fails in create(), before any data is read.
  cfg = make_config(kind="tpu")
  start = time.monotonic()
  with pytest.raises(strategy_lib.tpu.TPUUnavailableError, match="has no TPU chips") as error:
    strategy_lib.create(cfg)
  assert time.monotonic() - start < 10
  assert "distribution.kind=default, mirrored or multi_worker" in str(error.value)
  assert "distribution: TensorFlow" in capsys.readouterr().out  # printed before the failure


def test_is_tpu_recognises_tpu_strategies():
  assert strategy_lib.is_tpu(object.__new__(tf.distribute.TPUStrategy))
  assert not strategy_lib.is_tpu(MIRRORED)


def test_multi_worker_without_tf_config_says_how_to_launch(monkeypatch):
  monkeypatch.delenv("TF_CONFIG", raising=False)
  with pytest.raises(ValueError, match=r"needs the TF_CONFIG.*//common/distribute:launch"):
    strategy_lib.create(make_config(kind="multi_worker"))
  monkeypatch.setenv("TF_CONFIG", "{not json")
  with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
    strategy_lib.create(make_config(kind="multi_worker"))


def test_horovod_without_horovod_installed_says_how_to_build(monkeypatch):
  import builtins

  real_import = builtins.__import__

  def no_horovod(name, *args, **kwargs):
    if name.startswith("horovod"):
      raise ImportError(f"No module named {name!r}")
    return real_import(name, *args, **kwargs)

  monkeypatch.setattr(builtins, "__import__", no_horovod)
  monkeypatch.delitem(__import__("sys").modules, "horovod.tensorflow.keras", raising=False)
  with pytest.raises(ImportError, match="make horovod"):
    strategy_lib.create(make_config(kind="horovod"))


def _rows_dataset_fn(num_rows, global_batch_size, *, drop_remainder=False):
  def dataset_fn(ctx):
    ds = tf.data.Dataset.range(num_rows)
    return ds.batch(ctx.get_per_replica_batch_size(global_batch_size), drop_remainder=drop_remainder)
  return dataset_fn


def test_distribute_splits_the_global_batch_over_replicas():
  ds = strategy_lib.distribute(MIRRORED, _rows_dataset_fn(8, 4), global_batch_size=4)
  first = next(iter(ds))
  # One input pipeline feeding 2 replicas: per-replica batches [0, 1] and [2, 3].
  per_replica = [t.numpy().tolist() for t in MIRRORED.experimental_local_results(first)]
  assert per_replica == [[0, 1], [2, 3]]


def test_static_shapes_drop_the_partial_batch():
  # 10 rows, global batch 4 on one replica: batches of 4, 4 and a partial 2 that XLA cannot take.
  strategy = tf.distribute.get_strategy()
  dynamic = strategy_lib.distribute(strategy, _rows_dataset_fn(10, 4), 4, static_shapes=False)
  static = strategy_lib.distribute(strategy, _rows_dataset_fn(10, 4), 4, static_shapes=True)
  assert [len(b) for b in dynamic] == [4, 4, 2]
  assert [len(b) for b in static] == [4, 4]
  assert static.element_spec.shape.as_list() == [4]


def test_tpu_strategy_gets_static_shapes(monkeypatch):
  monkeypatch.setattr(strategy_lib, "is_tpu", lambda strategy: True)
  ds = strategy_lib.distribute(MIRRORED, _rows_dataset_fn(10, 4), global_batch_size=4)
  batches = [np.concatenate([t.numpy() for t in MIRRORED.experimental_local_results(b)])
             for b in ds]
  assert [b.tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7]]  # rows 8, 9 dropped


def test_wrong_batch_size_in_dataset_fn_is_explained():
  def global_batches(ctx):
    del ctx
    return tf.data.Dataset.range(16).batch(4, drop_remainder=True)  # forgot the per-replica split
  with pytest.raises(ValueError, match="batches of 4 examples but each of the 2 replicas should get 2"):
    strategy_lib.distribute(MIRRORED, global_batches, global_batch_size=4)


def test_global_batch_must_divide_over_replicas():
  with pytest.raises(ValueError, match="global batch size 5 must be a positive multiple of the 2"):
    strategy_lib.per_replica_batch_size(MIRRORED, 5)


@pytest.mark.parametrize("tf_config, chief", [
    (None, True),
    ({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}}, True),
    ({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}, False),
    ({"cluster": {"chief": ["c:0"], "worker": ["a:1"]}, "task": {"type": "worker", "index": 0}},
     False),
    ({"cluster": {"chief": ["c:0"], "worker": ["a:1"]}, "task": {"type": "chief", "index": 0}},
     True),
    ({"cluster": {"worker": ["a:1"], "evaluator": ["e:1"]}, "task": {"type": "evaluator"}}, False),
])
def test_is_chief_follows_tf_config(monkeypatch, tf_config, chief):
  if tf_config is None:
    monkeypatch.delenv("TF_CONFIG", raising=False)
  else:
    monkeypatch.setenv("TF_CONFIG", json.dumps(tf_config))
  assert strategy_lib.is_chief() is chief
