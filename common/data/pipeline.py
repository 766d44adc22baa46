"""The one input-pipeline builder: shard, preprocess, cache, shuffle, augment, batch, prefetch.

The order of the steps is the part people get wrong, so it lives here once:

  shard      first, so each worker reads (and caches) only its own share of the records;
  preprocess deterministic work (decode, resize, tokenize) before the cache, done once;
  cache      after the expensive deterministic work, before anything random;
  shuffle    after the cache, so every epoch sees a new order (seeded: reproducible);
  augment    random per-epoch work after the shuffle, training only;
  batch      per-replica batch size; `drop_remainder=True` gives the static shapes a TPU needs;
  prefetch   AUTOTUNE, last, to overlap input with the training step.

Under a `tf.distribute` strategy, pass the `tf.distribute.InputContext` that
`strategy.distribute_datasets_from_function` hands to the dataset function, and the *global* batch
size: each input pipeline then reads 1/num_input_pipelines of the data and batches
global_batch / num_replicas examples. A reader that already returned this pipeline's share (by
file: `tfrecord.image_dataset(..., input_context=ctx)`, `common.data.sharding`) passes
`shard=False`, so records are not sharded a second time.

Exact evaluation on static shapes (`pad_final_batch=True`): dropping the last partial batch, as
TPUs need, would skip up to a batch of validation examples (ImageNet at 4,096: 848 of 50,000).
Instead each example gets a weight of 1, the last batch is filled with zero examples of weight 0,
and every batch keeps the static size. Keras reads (x, y, weight) as a sample weight, so the
padded rows count in no metric, and every real example is scored exactly once.
"""

from collections.abc import Callable

import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE


def per_replica_batch_size(global_batch_size: int,
                           input_context: tf.distribute.InputContext | None) -> int:
  """The batch size one replica sees: global batch / number of replicas in sync.

  Raises:
    ValueError: the global batch does not split evenly over the replicas.
  """
  if global_batch_size <= 0:
    raise ValueError(f"batch_size={global_batch_size} must be a positive integer")
  if input_context is None:
    return global_batch_size
  replicas = input_context.num_replicas_in_sync
  if global_batch_size % replicas:
    raise ValueError(
        f"global batch_size={global_batch_size} does not divide evenly over {replicas} replicas; "
        f"use a multiple of {replicas} (e.g. {(global_batch_size // replicas + 1) * replicas})")
  return global_batch_size // replicas


def build(ds: tf.data.Dataset, batch_size: int, *, training: bool,
          shuffle_buffer: int = 10_000, cache: bool | str = True, drop_remainder: bool = False,
          input_context: tf.distribute.InputContext | None = None, seed: int = 0,
          preprocess: Callable | None = None, augment: Callable | None = None,
          repeat: bool = False, shard: bool = True, pad_final_batch: bool = False,
          num_batches: int | None = None) -> tf.data.Dataset:
  """Turns a dataset of examples into batches ready for `model.fit` or a distributed loop.

  Args:
    ds: unbatched examples (e.g. from `tfrecord.image_dataset`).
    batch_size: the global batch size (split over replicas when `input_context` is given).
    training: shuffle (and augment) only when True; evaluation keeps the order.
    shuffle_buffer: elements in the shuffle buffer (>= dataset size for a perfect shuffle).
    cache: True caches in memory, a string caches to that file prefix, False does not cache.
    drop_remainder: drop the last partial batch so every batch has a static shape (TPUs need it).
    input_context: from `strategy.distribute_datasets_from_function`; shards per input pipeline.
    seed: shuffle seed; the same seed gives the same order on every run.
    preprocess: deterministic per-example function applied before the cache.
    augment: random per-example function applied after the shuffle, only when training.
    repeat: repeat forever (use with `steps_per_epoch`).
    shard: keep every n-th record for this input pipeline; False when `ds` is already this
      pipeline's share (a reader that sharded by file).
    pad_final_batch: evaluation only: elements become `(*example, weight)` with weight 1.0, and
      the last batch is filled with zero examples of weight 0.0, so every batch has the static
      size and every real example counts exactly once (see the module docstring). Examples must
      have a fixed shape after `preprocess`.
    num_batches: with `pad_final_batch`, pad (or cut) to exactly this many batches, so that
      every input pipeline runs the same number of steps; it must cover the largest pipeline's
      share (ceil(examples / global batch) with record sharding). None: pad to the end of data.

  Returns:
    A batched, prefetched `tf.data.Dataset`.
  """
  if shuffle_buffer <= 0:
    raise ValueError(f"shuffle_buffer={shuffle_buffer} must be positive")
  if pad_final_batch and (training or repeat):
    raise ValueError("pad_final_batch is for evaluation (every example once); it cannot be used "
                     "with training=True or repeat=True")
  if num_batches is not None and (not pad_final_batch or num_batches <= 0):
    raise ValueError(f"num_batches={num_batches} needs pad_final_batch=True and a positive count "
                     "(ceil(validation examples / global batch size))")
  local_batch = per_replica_batch_size(batch_size, input_context)
  if shard and input_context is not None and input_context.num_input_pipelines > 1:
    ds = ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
  if preprocess is not None:
    ds = ds.map(preprocess, num_parallel_calls=AUTOTUNE, deterministic=True)
  if cache:
    ds = ds.cache(cache if isinstance(cache, str) else "")
  if training:
    ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
  if repeat:
    ds = ds.repeat()
  if training and augment is not None:
    ds = ds.map(augment, num_parallel_calls=AUTOTUNE, deterministic=True)
  if pad_final_batch:
    ds = _weighted_and_padded(ds, local_batch, num_batches)
    drop_remainder = True
  ds = ds.batch(local_batch, drop_remainder=drop_remainder,
                num_parallel_calls=AUTOTUNE, deterministic=True)
  if num_batches is not None:
    ds = ds.take(num_batches)
  return ds.prefetch(AUTOTUNE)


def _weighted_and_padded(ds: tf.data.Dataset, local_batch: int,
                         num_batches: int | None) -> tf.data.Dataset:
  """(*example, 1.0) for every example, then (zeros, 0.0) rows up to the last full batch.

  n examples followed by local_batch - 1 padding rows make exactly ceil(n / local_batch) full
  batches, so no count is needed; with `num_batches`, padding repeats until that many.
  """
  spec = ds.element_spec
  parts = spec if isinstance(spec, tuple) else (spec,)
  for part in tf.nest.flatten(parts):
    if not part.shape.is_fully_defined():
      raise ValueError(
          f"pad_final_batch needs examples of a fixed shape, got {part.shape} ({part.dtype}); "
          "resize or pad them to one shape in `preprocess` first")
  ones = ds.map(lambda *example: (*example, tf.constant(1.0, tf.float32)),
                num_parallel_calls=AUTOTUNE, deterministic=True)
  zero = tf.nest.map_structure(lambda s: tf.zeros(s.shape, s.dtype), parts)
  padding = tf.data.Dataset.from_tensors((*zero, tf.constant(0.0, tf.float32)))
  padding = padding.repeat() if num_batches is not None else padding.repeat(local_batch - 1)
  return ones.concatenate(padding)
