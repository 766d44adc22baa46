"""The two towers, the retrieval and ranking models, and the multitask model that joins them.

    query tower       recent item ids + how long ago  ─┐
                      (+ hashed user id, optional)     ├─ dot product ─ retrieval (in-batch softmax)
    candidate tower   hashed item id + text + image   ─┘
    ranking head      DCN cross layers over [query, candidate, query⊙candidate] ─ rating / click

The candidate tower fuses three views of an item. The id embedding carries what
interactions taught; the text and image encoders carry content. During training the
id view is dropped for a share of examples (`id_dropout`), and items never seen in
training have no id view at all, so a new item is placed by its content alone.

History items are embedded with the candidate tower's id embedding (shared weights,
as in SASRec), so the query tower speaks the candidate tower's language.

All models are Keras 2 (tf-keras) so TensorFlow Recommenders' tasks apply.

Ids are strings, and the towers hash and look them up in the graph, so an export takes raw ids.
An XLA-compiled step (every step on a TPU) cannot take a string: `Recommender.encode_ids`
does those lookups on the host, in the input pipeline, and the towers read the ints it makes with
the same embeddings, so the two paths compute the same numbers.

Under mixed_bfloat16 the towers compute in bfloat16 and their embeddings are cast to float32
where the losses meet them (`Recommender.compute_loss`), as Keras keeps a model's outputs.
"""

from __future__ import annotations

import contextlib
import dataclasses

import tensorflow as tf
import tensorflow_recommenders as tfrs

from recsys import features as features_lib
from sequences import sequence_encoder


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """What the model builder needs; built from the `model` block of a recsys config."""

  embedding_dim: int = 64
  hash_bins: int = 50_000  # item-id hash buckets; collisions are rare below ~bins/10 items
  user_hash_bins: int = 20_000  # 0 disables the user-id embedding
  max_history: int = 50
  encoder: str = "gru"  # sequence encoder over the history: gru | transformer
  id_dropout: float = 0.1
  temperature: float = 0.05
  logq_correction: bool = True
  remove_accidental_hits: bool = True
  cross_layers: int = 2
  rating_weight: float = 1.0
  retrieval_weight: float = 1.0
  # Weight of an auxiliary loss: the content-only item embedding predicts the item's category.
  # It makes text and image place a never-seen item among its kind (cold start).
  category_weight: float = 0.0



@contextlib.contextmanager
def _float32_policy():
  """Layers made inside compute in float32, whatever the global policy (mixed_bfloat16 on a TPU).

  For the TFRS tasks: they build their labels in their compute dtype and meet float32 logits,
  and they make layers of their own as they run (Retrieval's RemoveAccidentalHits).
  """
  policy = tf.keras.mixed_precision.global_policy()
  tf.keras.mixed_precision.set_global_policy("float32")
  try:
    yield
  finally:
    tf.keras.mixed_precision.set_global_policy(policy)


class ItemTower(tf.keras.layers.Layer):
  """Candidate tower: fused id, text and image views, L2-normalised.

  Args:
    config: model config.
    known_items: ids seen in training; any other id gets no id view (cold start).
    text_encoder: optional layer, [batch] string -> [batch, d_text].
    image_encoder: optional layer, [batch] encoded-image string -> [batch, d_image].
  """

  def __init__(self, config: ModelConfig, known_items, text_encoder=None, image_encoder=None, **kw):
    super().__init__(**kw)
    self.config = config
    self.hashing = tf.keras.layers.Hashing(num_bins=config.hash_bins, name="item_hash")
    self.known = tf.keras.layers.StringLookup(vocabulary=list(known_items), num_oov_indices=1,
                                              mask_token=None, name="known_items")
    self.id_embedding = tf.keras.layers.Embedding(config.hash_bins, config.embedding_dim,
                                                  name="item_id_embedding")
    self.text_encoder = text_encoder
    self.image_encoder = image_encoder
    self.text_proj = tf.keras.layers.Dense(config.embedding_dim, name="text_proj") if text_encoder else None
    self.image_proj = tf.keras.layers.Dense(config.embedding_dim, name="image_proj") if image_encoder else None
    self.fuse = tf.keras.Sequential([
        tf.keras.layers.Dense(2 * config.embedding_dim, activation="gelu"),
        tf.keras.layers.Dense(config.embedding_dim)], name="fuse")
    # The hash bucket of each encoded id (index 0, an unseen id, has no id view: any bucket).
    self._known_buckets = self.hashing(tf.constant([features_lib.PAD, *known_items], tf.string))

  def encode_ids(self, item_ids: tf.Tensor) -> tf.Tensor:
    """String ids -> int64: 1.. for ids seen in training, 0 for others, features_lib.PAD_INDEX for ""."""
    index = self.known(item_ids)
    return tf.where(tf.equal(item_ids, features_lib.PAD),
                    tf.constant(features_lib.PAD_INDEX, index.dtype), index)

  def id_view(self, item_ids: tf.Tensor, training=False) -> tf.Tensor:
    """Id embedding, zero for ids never seen in training (and for "" padding).

    `item_ids` are strings, or the ints of `encode_ids` (the same embedding, no string op).
    """
    if item_ids.dtype == tf.string:
      buckets, known = self.hashing(item_ids), self.known(item_ids) > 0
    else:
      buckets, known = tf.gather(self._known_buckets, tf.maximum(item_ids, 0)), item_ids > 0
    emb = self.id_embedding(buckets)
    known = tf.cast(known, emb.dtype)
    if training and self.config.id_dropout > 0:
      keep = tf.cast(tf.random.uniform(tf.shape(known)) >= self.config.id_dropout, emb.dtype)
      known = known * keep
    return emb * known[..., None]

  def call(self, inputs: dict[str, tf.Tensor], training=False, content_only=False) -> tf.Tensor:
    """Candidate embeddings; `content_only` drops the id view (how a cold item is seen)."""
    ids = self.id_view(inputs["item_id"], training)
    return self._fuse(tf.zeros_like(ids) if content_only else ids, self._content_views(inputs))

  def with_content_only(self, inputs: dict[str, tf.Tensor], training=False):
    """(full, content-only) embeddings, running the text and image encoders once for both."""
    content = self._content_views(inputs)
    ids = self.id_view(inputs["item_id"], training)
    return self._fuse(ids, content), self._fuse(tf.zeros_like(ids), content)

  def _content_views(self, inputs: dict[str, tf.Tensor]) -> list[tf.Tensor]:
    views = []
    if self.text_encoder is not None:
      views.append(self.text_proj(self.text_encoder(inputs["text"])))
    if self.image_encoder is not None:
      views.append(self.image_proj(self.image_encoder(inputs["image"])))
    return views

  def _fuse(self, id_view: tf.Tensor, content: list[tf.Tensor]) -> tf.Tensor:
    return tf.math.l2_normalize(self.fuse(tf.concat([id_view, *content], axis=-1)), axis=-1)


class _HistoryItemEmbedding(tf.keras.layers.Layer):
  """History item ids -> the candidate tower's id view (shared weights)."""

  def __init__(self, item_tower: ItemTower, **kw):
    super().__init__(**kw)
    self.item_tower = item_tower

  def call(self, ids):
    return self.item_tower.id_view(ids)


class QueryTower(tf.keras.layers.Layer):
  """Query tower: the sequence encoder over the history, plus an optional hashed user id."""

  def __init__(self, config: ModelConfig, item_tower: ItemTower, **kw):
    super().__init__(**kw)
    self.config = config
    self.item_tower = item_tower  # shared id embedding for history items
    self.encoder = sequence_encoder.SequenceEncoder(
        output_dim=config.embedding_dim, item_embedding=_HistoryItemEmbedding(item_tower),
        encoder=config.encoder, max_length=config.max_history, padding_id="")
    self.user_hashing = (tf.keras.layers.Hashing(config.user_hash_bins, name="user_hash")
                         if config.user_hash_bins else None)
    self.user_embedding = (tf.keras.layers.Embedding(config.user_hash_bins, config.embedding_dim,
                                                     name="user_embedding")
                           if config.user_hash_bins else None)
    self.out = tf.keras.layers.Dense(config.embedding_dim, name="query_out")

  def call(self, inputs: dict[str, tf.Tensor], training=False) -> tf.Tensor:
    h = features_lib.history_inputs(inputs["history_ids"], inputs["history_times"], inputs["timestamp"])
    x = self.encoder({"item_ids": h["ids"], "time_gaps": h["gap_seconds"], "mask": h["mask"]},
                     training=training)
    if self.user_embedding is not None:
      user = inputs["user_id"]  # a string, or its hash bucket from `Recommender.encode_ids`
      x = tf.concat([x, self.user_embedding(self.user_hashing(user) if user.dtype == tf.string
                                            else user)], axis=-1)
    return tf.math.l2_normalize(self.out(x), axis=-1)


class RankingHead(tf.keras.layers.Layer):
  """DCN-v2 (Wang et al. 2021): explicit feature crosses, then a small MLP, to one score."""

  def __init__(self, config: ModelConfig, **kw):
    super().__init__(**kw)
    self.crosses = [tfrs.layers.dcn.Cross(name=f"cross_{i}") for i in range(config.cross_layers)]
    self.mlp = tf.keras.Sequential([
        tf.keras.layers.Dense(128, activation="relu"),
        tf.keras.layers.Dense(64, activation="relu"),
        tf.keras.layers.Dense(1, dtype="float32")], name="rank_mlp")

  def call(self, query: tf.Tensor, candidate: tf.Tensor) -> tf.Tensor:
    # Keras casts only the first input to the compute dtype (bfloat16 under mixed_bfloat16).
    query, candidate = tf.cast(query, self.compute_dtype), tf.cast(candidate, self.compute_dtype)
    x0 = tf.concat([query, candidate, query * candidate], axis=-1)
    x = x0
    for cross in self.crosses:
      x = cross(x0, x)
    return tf.squeeze(self.mlp(x), axis=-1)


class Recommender(tfrs.Model):
  """Retrieval, rating ranking, or both (multitask), as the loss weights say.

  Features per example: user_id, history_ids, history_times, timestamp (request time),
  item_id (target), and when present text/image of the target, rating, and
  `sampling_prob` (the target's frequency in training, for the log-Q correction of
  in-batch negatives: popular items appear as negatives more often than the softmax
  assumes, and subtracting log Q removes that bias; Yi et al., RecSys 2019).
  """

  def __init__(self, config: ModelConfig, known_items, text_encoder=None, image_encoder=None,
               rating_range=(1.0, 5.0), categories=()):
    super().__init__()
    self.config = config
    self.category_lookup = tf.keras.layers.StringLookup(vocabulary=list(categories) or ["?"],
                                                        num_oov_indices=1, name="category_lookup")
    self.category_head = tf.keras.layers.Dense(len(categories) + 1 if categories else 2,
                                               name="category_head")
    self.item_tower = ItemTower(config, known_items, text_encoder, image_encoder)
    self.query_tower = QueryTower(config, self.item_tower)
    self.ranking_head = RankingHead(config)
    # Build the head now: a retrieval-only run never calls it, yet the export's `rank` does.
    zeros = tf.zeros([1, config.embedding_dim])
    self.ranking_head(zeros, zeros)
    self.rating_range = rating_range
    with _float32_policy():
      self.retrieval_task = tfrs.tasks.Retrieval(
          temperature=config.temperature,
          remove_accidental_hits=config.remove_accidental_hits)
      self.rating_task = tfrs.tasks.Ranking(
          loss=tf.keras.losses.MeanSquaredError(),
          metrics=[tf.keras.metrics.RootMeanSquaredError(name="rmse")])

  def encode_ids(self, features: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """`features` with no string left: ids as the ints the towers read without string ops.

    For an XLA-compiled step (a TPU's): map it over the input pipeline, so the lookups run on
    the host. Item and history ids become `ItemTower.encode_ids` indices (the accidental-hit
    check compares those, which name training's items exactly), the user id its hash bucket,
    the category its index; features the model does not read are dropped.

    Raises:
      ValueError: the model has a text or image tower, which reads raw strings in the graph.
    """
    if self.item_tower.text_encoder is not None or self.item_tower.image_encoder is not None:
      raise ValueError("the text and image towers read raw strings, which an XLA-compiled step "
                       "(a TPU) cannot take; set config.text_tower=False and "
                       "config.image_tower=False, or distribution.jit_compile=False off a TPU")
    out = {k: v for k, v in features.items() if v.dtype != tf.string}
    out["item_id"] = self.item_tower.encode_ids(features["item_id"])
    out["history_ids"] = self.item_tower.encode_ids(features["history_ids"])
    if self.query_tower.user_hashing is not None:
      out["user_id"] = self.query_tower.user_hashing(features["user_id"])
    if "category" in features:
      out["category"] = self.category_lookup(features["category"])
    return out

  def candidate_inputs(self, features: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    return {k: features[k] for k in ("item_id", "text", "image") if k in features}

  def predict_rating(self, query: tf.Tensor, candidate: tf.Tensor) -> tf.Tensor:
    lo, hi = self.rating_range
    mid, half = (lo + hi) / 2.0, (hi - lo) / 2.0
    # tanh keeps predictions inside the rating scale without clipping gradients away.
    return mid + half * tf.tanh(self.ranking_head(query, candidate) / 2.0)

  def compute_loss(self, features, training=False) -> tf.Tensor:
    # The losses in float32 (no-op casts unless the towers compute in bfloat16).
    query = tf.cast(self.query_tower(features, training=training), tf.float32)
    with_category = self.config.category_weight > 0 and "category" in features
    if with_category:  # the content-only view reuses the encoders' outputs (they are costly)
      candidate, content = self.item_tower.with_content_only(self.candidate_inputs(features),
                                                             training=training)
    else:
      candidate = self.item_tower(self.candidate_inputs(features), training=training)
    candidate = tf.cast(candidate, tf.float32)
    loss = tf.constant(0.0)
    if self.config.retrieval_weight > 0:
      prob = features.get("sampling_prob") if self.config.logq_correction else None
      with _float32_policy():  # the layers the task makes as it runs, too
        loss += self.config.retrieval_weight * self.retrieval_task(
            query, candidate, candidate_sampling_probability=prob,
            candidate_ids=features["item_id"] if self.config.remove_accidental_hits else None,
            compute_metrics=False)
    if with_category:
      category = features["category"]  # a string, or its index from `encode_ids`
      if category.dtype == tf.string:
        category = self.category_lookup(category)
      loss += self.config.category_weight * tf.reduce_mean(
          tf.keras.losses.sparse_categorical_crossentropy(
              category, tf.cast(self.category_head(content), tf.float32), from_logits=True))
    if self.config.rating_weight > 0 and "rating" in features:
      loss += self.config.rating_weight * self.rating_task(
          labels=features["rating"], predictions=self.predict_rating(query, candidate))
    return loss

