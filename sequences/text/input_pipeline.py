"""Repeatable splits of a `TextDataset` and the tf.data pipelines that feed the models.

Splits are pure functions of each record's key (`common.data.splits`, FarmHash buckets):
- `hash_split`: train/validation/test by fractions (default 0.8/0.1/0.1);
- `kfold`: K folds by contiguous ranges of the same hash bucket, for cross-validation.
Because ../shared/data/ag_news holds only AG News's official *test* file, every AG News figure in
this package comes from such a split of those 7,600 rows, not from the official train/test split.

Tokenisation runs once per split (`tokenize`), through the very `Tokenizer` layer that is
exported, and the resulting id matrices are cached: the per-epoch cost is then only the model's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from common.data import pipeline, splits
from sequences.text import data as data_lib
from sequences.text import tokenizer as tokenizer_lib


def hash_split(data: data_lib.TextDataset,
               fractions: Sequence[float] = (0.8, 0.1, 0.1)) -> dict[str, data_lib.TextDataset]:
  """{"train", "validation", "test"} subsets of `data`, each a pure function of the record key."""
  names = np.array([splits.split_of(key, fractions) for key in data.keys])
  parts = {name: data.subset(np.flatnonzero(names == name)) for name in splits.SPLITS
           if np.any(names == name)}
  if "train" not in parts:
    raise ValueError(f"{data.name}: the hash split with fractions={tuple(fractions)} left no "
                     f"training records out of {len(data.texts)}; give train a larger fraction")
  return parts


def fold_of(key: str, num_folds: int) -> int:
  """The cross-validation fold of `key`: its hash bucket's range, in [0, num_folds)."""
  return splits.bucket_of(key) * num_folds // splits.NUM_BUCKETS


def kfold(data: data_lib.TextDataset,
          num_folds: int = 5) -> list[tuple[data_lib.TextDataset, data_lib.TextDataset]]:
  """[(train, test)] for each of `num_folds` hash folds; each record is tested exactly once."""
  if num_folds < 2:
    raise ValueError(f"num_folds={num_folds}: cross-validation needs at least 2 folds")
  folds = np.array([fold_of(key, num_folds) for key in data.keys])
  result = []
  for k in range(num_folds):
    test = np.flatnonzero(folds == k)
    if test.size == 0:
      raise ValueError(f"{data.name}: fold {k} of {num_folds} is empty ({len(data.texts)} records)"
                       "; use fewer folds")
    result.append((data.subset(np.flatnonzero(folds != k)), data.subset(test)))
  return result


def tokenize(tokenizer: tokenizer_lib.Tokenizer, texts: Sequence[str],
             batch_size: int = 1024) -> np.ndarray:
  """Token ids `[len(texts), sequence_length]` int32, computed by the exported tokenizer layer."""
  ds = tf.data.Dataset.from_tensor_slices(list(texts)).batch(batch_size)
  return np.concatenate([tokenizer(batch).numpy() for batch in ds], axis=0)


def classification_dataset(ids: np.ndarray, labels: np.ndarray, batch_size: int, *,
                           training: bool, seed: int = 0,
                           input_context: tf.distribute.InputContext | None = None
                           ) -> tf.data.Dataset:
  """(ids, label) batches via `common.data.pipeline.build` (shuffled, sharded when training)."""
  ds = tf.data.Dataset.from_tensor_slices((ids, labels.astype(np.int32)))
  return pipeline.build(ds, batch_size, training=training, shuffle_buffer=max(len(ids), 1),
                        input_context=input_context, seed=seed)
