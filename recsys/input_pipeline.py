"""Datasets for the recommender: interactions + item table → (history, target) examples.

`load` reads a dataset by name and applies an evaluation protocol; `to_dataset` turns
examples into a `tf.data.Dataset` of feature dicts, joining each target with its
content (text, image bytes) from the catalogue and its sampling probability.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from common.data import pipeline
from recsys import features as features_lib
from recsys.data import movielens, protocols, shopworld
from recsys.data.interactions import Catalog, Interactions


@dataclasses.dataclass(frozen=True)
class Data:
  """Everything a run needs: catalogue, split events, examples, and training statistics."""

  catalog: Catalog
  train_events: Interactions
  train: features_lib.Examples
  validation: features_lib.Examples
  test: features_lib.Examples
  seen: dict[str, set[str]]  # user -> items in their (train + validation) history
  train_counts: dict[str, int]  # item -> training interactions
  images: dict[str, bytes] | None  # item -> encoded image


def load(dataset: str, protocol: str, max_history: int, data_dir: str | None = None,
         world_dir: str | None = None) -> Data:
  """Loads `dataset` ("movielens" or "shopworld") split by `protocol`.

  Protocols: "leave_last_out", "temporal", or a MovieLens canonical split ("u1".."u5", "ua", "ub").
  """
  images = None
  if dataset == "movielens":
    events, catalog = movielens.load_ratings(data_dir), movielens.load_catalog(data_dir)
  elif dataset == "shopworld":
    if not world_dir:
      raise ValueError("dataset 'shopworld' needs world_dir: the folder written by "
                       "`bazel run //common/shopworld:generate -- --out_dir=DIR`")
    events, catalog = shopworld.load_interactions(world_dir), shopworld.load_catalog(world_dir)
    images = shopworld.load_images(catalog)
  else:
    raise ValueError(f"unknown dataset {dataset!r}; use 'movielens' or 'shopworld'")

  if protocol == "leave_last_out":
    split = protocols.leave_last_out(events)
  elif protocol == "temporal":
    split = protocols.temporal_split(events)
  elif protocol in movielens.CANONICAL_SPLITS:
    if dataset != "movielens":
      raise ValueError(f"protocol {protocol!r} is a MovieLens split; dataset is {dataset!r}")
    split = protocols.with_hash_validation(*movielens.load_split(protocol, data_dir))
  else:
    raise ValueError(f"unknown protocol {protocol!r}; use leave_last_out, temporal or one of "
                     f"{', '.join(movielens.CANONICAL_SPLITS)}")

  # Rating protocols score every held-out rating, even a user's first (empty history: the
  # user embedding and item carry it); retrieval protocols need a history to query with.
  min_history = 0 if protocol in movielens.CANONICAL_SPLITS else 1
  train = features_lib.build_examples(split.train, max_history, min_history=min_history)
  validation = features_lib.build_examples(split.validation, max_history, context=split.train,
                                           min_history=min_history)
  history = features_lib._concat(split.train, split.validation)
  test = features_lib.build_examples(split.test, max_history, context=history, min_history=min_history)
  seen: dict[str, set[str]] = {}
  for u, i in zip(history.user_id, history.item_id, strict=True):
    seen.setdefault(u, set()).add(i)
  items, counts = np.unique(split.train.item_id.astype(str), return_counts=True)
  return Data(catalog, split.train, train, validation, test, seen,
              dict(zip(items, counts.tolist(), strict=True)), images)


def item_content(data: Data, item_ids: np.ndarray) -> dict[str, np.ndarray]:
  """Text (and image bytes) of `item_ids`, "" for ids the catalogue lacks."""
  index = data.catalog.index()
  rows = np.array([index.get(i, -1) for i in item_ids])
  text = np.where(rows >= 0, data.catalog.text[np.maximum(rows, 0)], "").astype(str)
  category = np.where(rows >= 0, data.catalog.category[np.maximum(rows, 0)], "").astype(str)
  out = {"text": text, "category": category}
  if data.images is not None:
    out["image"] = np.array([data.images.get(i, b"") for i in item_ids], dtype=object)
  return out


def to_dataset(data: Data, examples: features_lib.Examples, batch_size: int, training: bool,
               seed: int = 0, drop_remainder: bool = False,
               input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
  """Feature dicts for `Recommender.compute_loss`, batched.

  `batch_size` is global; with `input_context` (from `common.distribute.strategy.distribute`)
  this worker reads its own shard in per-replica batches.
  """
  feats = examples.as_dict()
  feats.update(item_content(data, examples.item_id))
  total = sum(data.train_counts.values())
  feats["sampling_prob"] = np.array([data.train_counts.get(i, 1) / total for i in examples.item_id],
                                    dtype=np.float32)
  if feats.get("rating") is None:
    feats.pop("rating", None)
  ds = tf.data.Dataset.from_tensor_slices(feats)
  return pipeline.build(ds, batch_size, training=training, drop_remainder=drop_remainder, seed=seed,
                        cache=True, input_context=input_context)

