"""pipeline: seeded shuffles, static TPU shapes, per-worker shards and per-replica batches."""

import numpy as np
import pytest
import tensorflow as tf

from common.data import pipeline


def _values(ds):
  return [b.numpy().tolist() for b in ds]


def _range(n=20):
  return tf.data.Dataset.range(n)


def test_eval_keeps_order_and_last_partial_batch():
  assert _values(pipeline.build(_range(10), 4, training=False)) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_training_shuffle_is_seeded_and_reshuffles_each_epoch():
  a = pipeline.build(_range(), 5, training=True, seed=1)
  b = pipeline.build(_range(), 5, training=True, seed=1)
  c = pipeline.build(_range(), 5, training=True, seed=2)
  epoch1, epoch2 = _values(a), _values(a)
  assert epoch1 == _values(b)  # same seed, same order
  assert epoch1 != epoch2  # a new order every epoch
  assert epoch1 != _values(c)
  assert sorted(np.concatenate(epoch1).tolist()) == list(range(20))


def test_drop_remainder_gives_static_batch_shape():
  ds = pipeline.build(_range(10), 4, training=True, drop_remainder=True)
  assert ds.element_spec.shape.as_list() == [4]
  assert len(_values(ds)) == 2
  assert pipeline.build(_range(10), 4, training=True).element_spec.shape.as_list() == [None]


def test_workers_read_disjoint_shards_with_per_replica_batches():
  # 2 workers x 2 replicas each: global batch 8 -> 2 per replica.
  seen = []
  for worker in range(2):
    context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=worker,
                                         num_replicas_in_sync=4)
    batches = _values(pipeline.build(_range(16), 8, training=False, input_context=context))
    assert all(len(b) == 2 for b in batches)
    seen.append(set(np.concatenate(batches).tolist()))
  assert seen[0].isdisjoint(seen[1]) and seen[0] | seen[1] == set(range(16))


def test_with_a_real_strategy():
  strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
  dist = strategy.distribute_datasets_from_function(
      lambda ctx: pipeline.build(_range(12), 4, training=False, input_context=ctx))
  batches = [strategy.experimental_local_results(b)[0].numpy().tolist() for b in dist]
  assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]


def test_preprocess_runs_once_thanks_to_the_cache_and_augment_only_in_training():
  calls = []

  def count(x):
    calls.append(1)
    return x

  preprocess = lambda x: tf.py_function(count, [x], tf.int64)  # noqa: E731
  ds = pipeline.build(_range(6), 3, training=True, preprocess=preprocess, augment=lambda x: x + 100)
  first, second = _values(ds), _values(ds)
  assert len(calls) == 6  # the second epoch reads the cache
  assert min(np.concatenate(first + second)) >= 100
  eval_ds = pipeline.build(_range(6), 3, training=False, augment=lambda x: x + 100)
  assert max(np.concatenate(_values(eval_ds))) < 100


def test_repeat_for_steps_per_epoch():
  ds = pipeline.build(_range(4), 3, training=True, repeat=True, drop_remainder=True)
  assert len(_values(ds.take(5))) == 5


def test_bad_batch_sizes_are_explained():
  context = tf.distribute.InputContext(num_input_pipelines=1, input_pipeline_id=0,
                                       num_replicas_in_sync=8)
  with pytest.raises(ValueError, match=r"does not divide evenly over 8 replicas.*e.g. 16"):
    pipeline.build(_range(), 12, training=True, input_context=context)
  with pytest.raises(ValueError, match="must be a positive integer"):
    pipeline.build(_range(), 0, training=True)


def _weighted(ds):
  """(values, weights) of every row of a padded evaluation dataset."""
  rows = [(int(v), float(w)) for x, w in ds for v, w in zip(x.numpy(), w.numpy(), strict=True)]
  return [v for v, _ in rows], [w for _, w in rows]


def test_padded_evaluation_counts_every_example_exactly_once():
  # 50 examples, batch 16: 3 full batches + 2 real rows; 14 padding rows of weight 0 fill the 4th.
  ds = pipeline.build(tf.data.Dataset.range(1, 51), 16, training=False, pad_final_batch=True)
  assert ds.element_spec[0].shape.as_list() == [16]  # static, as XLA on a TPU needs
  batches = list(ds)
  assert len(batches) == 4
  values, weights = _weighted(ds)
  real = [v for v, w in zip(values, weights, strict=True) if w == 1.0]
  assert real == list(range(1, 51))  # every example once, in order
  assert weights.count(0.0) == 14 and values[50:] == [0] * 14


def test_padded_evaluation_weights_drop_padding_from_a_keras_metric():
  # Accuracy over 50 labels where exactly the first 20 predictions are right: 20 / 50 = 0.4,
  # whatever the 14 padded rows (label 0, "prediction" 0) would have added.
  labels = tf.data.Dataset.range(50).map(
      lambda i: (tf.cast(i < 20, tf.int64), tf.constant(1, tf.int64)))
  metric = tf.keras.metrics.Accuracy()
  for y_true, y_pred, weight in pipeline.build(labels, 16, training=False, pad_final_batch=True):
    metric.update_state(y_true, y_pred, sample_weight=weight)
  assert metric.result().numpy() == pytest.approx(0.4)


def test_padded_evaluation_gives_every_worker_the_same_number_of_batches():
  # 2 pipelines, global batch 16 -> 8 per pipeline; 50 examples -> 25 each; ceil(50/16) = 4 steps.
  seen, steps = [], []
  for worker in range(2):
    context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=worker,
                                         num_replicas_in_sync=2)
    ds = pipeline.build(tf.data.Dataset.range(1, 51), 16, training=False, input_context=context,
                        pad_final_batch=True, num_batches=4)
    steps.append(len(list(ds)))
    values, weights = _weighted(ds)
    seen += [v for v, w in zip(values, weights, strict=True) if w == 1.0]
  assert steps == [4, 4]
  assert sorted(seen) == list(range(1, 51))


def test_padding_needs_fixed_shapes_and_evaluation():
  ragged = tf.data.Dataset.range(3).map(lambda n: tf.range(n))
  with pytest.raises(ValueError, match=r"fixed shape.*resize or pad"):
    pipeline.build(ragged, 2, training=False, pad_final_batch=True)
  with pytest.raises(ValueError, match="pad_final_batch is for evaluation"):
    pipeline.build(_range(), 2, training=True, pad_final_batch=True)
  with pytest.raises(ValueError, match="num_batches=3 needs pad_final_batch"):
    pipeline.build(_range(), 2, training=False, num_batches=3)
