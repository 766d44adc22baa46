"""Which files each input pipeline reads, so a multi-host job reads every file once.

A job with several input pipelines (one per host under `MultiWorkerMirroredStrategy` or a TPU pod
slice, one per process under Horovod) gets a `tf.distribute.InputContext` per pipeline. Sharding
*records* (`ds.shard(n, i)` after the reader) keeps every n-th record, but every host still opens
and reads every file: with ImageNet's 1,024 training shards on a 16-host pod, that is 16 times the
bytes pulled from Cloud Storage. Sharding *files* gives each pipeline its own files:

    pipeline i of n reads files i, i + n, i + 2n, ...   (of the sorted list)

which is disjoint and complete, and each pipeline reads only its share of the bytes. The shares
differ by at most one file, so they are balanced when the files are of similar size (as TFRecord
shards written by one job are).

With fewer files than pipelines some pipelines would get nothing and the collective steps would
wait for them forever, so then every pipeline reads all files and keeps every n-th record (with
a warning: write more, smaller shards, e.g. one per host at least).

    ds = sharding.read_files(paths, tf.data.TFRecordDataset, input_context=ctx)
    # then pipeline.build(ds, ..., input_context=ctx, shard=False): already this pipeline's share
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf
from absl import logging


def shard_files(paths: Sequence[str],
                input_context: tf.distribute.InputContext | None) -> list[str] | None:
  """The files pipeline `input_context.input_pipeline_id` reads, or None to shard records instead.

  Args:
    paths: every file of the split, in a fixed order (sorted, as `tfrecord.expand_files` returns).
    input_context: from `strategy.distribute_datasets_from_function` (None: one pipeline).

  Returns:
    This pipeline's files (every n-th, starting at its id), all files when there is one pipeline,
    or None when there are fewer files than pipelines: read all and shard by record.
  """
  paths = list(paths)
  if input_context is None or input_context.num_input_pipelines <= 1:
    return paths
  count, index = input_context.num_input_pipelines, input_context.input_pipeline_id
  if len(paths) < count:
    return None
  return paths[index::count]


def read_files(paths: Sequence[str], make_dataset: Callable[[list[str]], tf.data.Dataset], *,
               input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
  """This pipeline's records of a file-based split: sharded by file when possible, else by record.

  Args:
    paths: every file of the split, in a fixed order.
    make_dataset: reads a list of files into one dataset of records, e.g.
      `lambda files: tf.data.TFRecordDataset(files, num_parallel_reads=8)`.
    input_context: from `strategy.distribute_datasets_from_function` (None: one pipeline).

  Returns:
    The records this pipeline owns; together the pipelines cover every record exactly once.
  """
  own = shard_files(paths, input_context)
  if own is not None:
    return make_dataset(own)
  count = input_context.num_input_pipelines
  logging.warning(
      "%d file(s) for %d input pipelines: every pipeline reads every file and keeps every %d-th "
      "record, so each host reads all the data. Write at least %d shards (one per pipeline) to "
      "have each file read once.", len(paths), count, count, count)
  return make_dataset(list(paths)).shard(count, input_context.input_pipeline_id)
