"""Datasets for the recommender: interactions + item table → (history, target) examples.

`load` reads a data source (config `data.source`, `data.path`) and applies an evaluation
protocol (`data.protocol`); `to_dataset` turns
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
  # `common.data.fingerprint` of the files as read and the protocol that split them: what an
  # export records as its data_fingerprint.
  fingerprint: str


SOURCES = ("movielens", "shopworld")
PROTOCOLS = ("leave_last_out", "temporal", *movielens.CANONICAL_SPLITS)


def load(source: str, protocol: str, max_history: int, data_dir: str | None = None,
         path: str = "") -> Data:
  """Loads `source` split by `protocol`.

  Args:
    source: "movielens" (MovieLens 100K from `data_dir`) or "shopworld" (the folder `path`).
    protocol: "leave_last_out", "temporal", or a MovieLens canonical split ("u1".."u5", "ua", "ub").
    max_history: the longest history an example keeps (the most recent items).
    data_dir: the real datasets' folder (`--data_dir`); None = the default.
    path: the shop world folder, for source "shopworld" (local or any tf.io.gfile location).

  Raises:
    ValueError: an unknown source or protocol, a MovieLens split asked of another source, or a
      shop world without a path; each says which config field to set.
  """
  if source not in SOURCES:
    raise ValueError(f"unknown data.source {source!r}; set --config.data.source to one of {', '.join(SOURCES)}")
  if protocol not in PROTOCOLS:
    raise ValueError(f"unknown data.protocol {protocol!r}; set --config.data.protocol to one of "
                     f"{', '.join(PROTOCOLS)}")
  canonical = protocol in movielens.CANONICAL_SPLITS
  if canonical and source != "movielens":
    raise ValueError(f"data.protocol {protocol!r} is a MovieLens split; data.source is {source!r}: "
                     "use leave_last_out or temporal")
  images = None
  if source == "movielens":
    catalog = movielens.load_catalog(data_dir)
    files = (f"{protocol}.base", f"{protocol}.test") if canonical else ("u.data",)
    fingerprint = movielens.fingerprint(*files, "u.item", "u.genre")
    if canonical:
      split = protocols.with_hash_validation(*movielens.load_split(protocol, data_dir))
    else:
      events = movielens.load_ratings(data_dir)
  else:
    if not path:
      raise ValueError("data.source 'shopworld' needs data.path, the folder written by "
                       "`bazel run //common/shopworld:generate -- --out_dir=DIR`: pass "
                       "--config.data.path=DIR")
    events, catalog = shopworld.load_interactions(path), shopworld.load_catalog(path)
    images = shopworld.load_images(catalog)
    fingerprint = shopworld.fingerprint(path, images)
  if protocol == "leave_last_out":
    split = protocols.leave_last_out(events)
  elif protocol == "temporal":
    split = protocols.temporal_split(events)

  # Rating protocols score every held-out rating, even a user's first (empty history: the
  # user embedding and item carry it); retrieval protocols need a history to query with.
  min_history = 0 if canonical else 1
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
              dict(zip(items, counts.tolist(), strict=True)), images,
              str(fingerprint.update(protocol)))


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

