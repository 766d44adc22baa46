"""Non-learned and classic baselines that every recsys figure is reported beside.

* `MostPopular`: items ranked by an exponentially time-decayed interaction count
  (half-life in days), the bar any personalised model must clear.
* `ItemCooccurrence`: "people who interacted with X also interacted with Y":
  cosine-normalised co-occurrence of items within users' training histories,
  summed over the user's recent items (recent ones weigh more).
* `BiasedMF`: rating prediction r̂ = μ + b_u + b_i + p_u·q_i (Koren, Bell & Volinsky 2009),
  fitted with Adam and L2 on the training ratings; the classic RMSE baseline.

Each retrieval baseline exposes `score(examples) -> [rows, num_items]` in catalogue order,
the interface `recsys.metrics` ranks.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from recsys.data.interactions import Interactions
from recsys.features import PAD, Examples


class MostPopular:
  """Time-decayed popularity: weight exp(-ln2 · age / half_life) per interaction."""

  def __init__(self, item_ids: np.ndarray, half_life_days: float | None = 30.0):
    self.item_ids = item_ids
    self.half_life_days = half_life_days
    self.scores = np.zeros(len(item_ids))

  def fit(self, train: Interactions) -> MostPopular:
    index = {item: i for i, item in enumerate(self.item_ids)}
    rows = np.array([index.get(i, -1) for i in train.item_id])
    keep = rows >= 0
    weight = np.ones(len(train))
    if self.half_life_days:
      age_days = (train.timestamp.max() - train.timestamp) / 86400.0
      weight = np.exp(-np.log(2.0) * age_days / self.half_life_days)
    self.scores = np.bincount(rows[keep], weights=weight[keep], minlength=len(self.item_ids))
    return self

  def score(self, examples: Examples) -> np.ndarray:
    return np.broadcast_to(self.scores, (len(examples), len(self.item_ids)))


class ItemCooccurrence:
  """Item-to-item cosine similarity of co-interaction, aggregated over the user's history."""

  def __init__(self, item_ids: np.ndarray, recency_decay: float = 0.9):
    self.item_ids = item_ids
    self.index = {item: i for i, item in enumerate(item_ids)}
    self.recency_decay = recency_decay
    self.similarity = sp.csr_matrix((len(item_ids), len(item_ids)))

  def fit(self, train: Interactions) -> ItemCooccurrence:
    users = {u: i for i, u in enumerate(np.unique(train.user_id))}
    rows = np.array([users[u] for u in train.user_id])
    cols = np.array([self.index.get(i, -1) for i in train.item_id])
    keep = cols >= 0
    ui = sp.csr_matrix((np.ones(keep.sum()), (rows[keep], cols[keep])),
                       shape=(len(users), len(self.item_ids)))
    ui.data[:] = 1.0  # repeated interactions count once
    co = (ui.T @ ui).tocsr().astype(np.float64)
    co.setdiag(0)
    norms = np.sqrt(np.asarray(ui.sum(axis=0)).ravel()) + 1e-9
    self.similarity = sp.diags(1 / norms) @ co @ sp.diags(1 / norms)
    return self

  def score(self, examples: Examples) -> np.ndarray:
    n, max_len = examples.history_ids.shape
    weights = self.recency_decay ** np.arange(max_len)[::-1]  # most recent (last) weighs 1
    rows, cols, vals = [], [], []
    for r in range(n):
      for pos, item in enumerate(examples.history_ids[r]):
        if item != PAD and item in self.index:
          rows.append(r)
          cols.append(self.index[item])
          vals.append(weights[pos])
    hist = sp.csr_matrix((vals, (rows, cols)), shape=(n, len(self.item_ids)))
    return np.asarray((hist @ self.similarity).todense())


class BiasedMF(tf.keras.Model):
  """r̂(u, i) = μ + b_u + b_i + p_u·q_i over string-id vocabularies.

  L2 is applied to the rows a batch touches (as in SGD-trained MF), not to the whole
  tables each step, which would shrink rarely-seen users and items far too hard.
  """

  def __init__(self, users: np.ndarray, items: np.ndarray, global_mean: float,
               dim: int = 32, l2: float = 0.05, seed: int = 0):
    super().__init__()
    self.user_lookup = tf.keras.layers.StringLookup(vocabulary=list(users), mask_token=None)
    self.item_lookup = tf.keras.layers.StringLookup(vocabulary=list(items), mask_token=None)
    self.l2 = l2
    def init(s):
      return tf.keras.initializers.RandomNormal(stddev=0.05, seed=seed + s)
    self.dim = dim
    if dim:  # dim=0 leaves only the biases: the "user + item biases" baseline.
      self.p = tf.keras.layers.Embedding(len(users) + 1, dim, embeddings_initializer=init(1))
      self.q = tf.keras.layers.Embedding(len(items) + 1, dim, embeddings_initializer=init(2))
    self.bu = tf.keras.layers.Embedding(len(users) + 1, 1, embeddings_initializer="zeros")
    self.bi = tf.keras.layers.Embedding(len(items) + 1, 1, embeddings_initializer="zeros")
    self.mu = tf.constant(global_mean, tf.float32)

  def call(self, inputs, training=False):
    u, i = self.user_lookup(inputs["user_id"]), self.item_lookup(inputs["item_id"])
    bu, bi = tf.squeeze(self.bu(u), -1), tf.squeeze(self.bi(i), -1)
    penalty, interaction = 0.1 * (bu * bu + bi * bi), tf.zeros_like(bu)
    if self.dim:
      pu, qi = self.p(u), self.q(i)
      penalty += tf.reduce_sum(pu * pu + qi * qi, -1)
      interaction = tf.reduce_sum(pu * qi, axis=-1)
    if training:
      self.add_loss(self.l2 * tf.reduce_mean(penalty))
    return self.mu + bu + bi + interaction


def fit_biased_mf(train: Interactions, dim: int = 64, l2: float = 0.1, epochs: int = 20,
                  batch_size: int = 1024, learning_rate: float = 3e-3, seed: int = 0) -> BiasedMF:
  """Fits BiasedMF on explicit ratings (train.rating must be set)."""
  if train.rating is None:
    raise ValueError("BiasedMF needs explicit ratings; this interaction table has none")
  tf.keras.utils.set_random_seed(seed)
  model = BiasedMF(np.unique(train.user_id), np.unique(train.item_id), float(train.rating.mean()),
                   dim=dim, l2=l2, seed=seed)
  model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), loss="mse")
  x = {"user_id": train.user_id.astype(str), "item_id": train.item_id.astype(str)}
  model.fit(x, train.rating, batch_size=batch_size, epochs=epochs, verbose=0, shuffle=True)
  return model


def predict_ratings(model: tf.keras.Model, table: Interactions, clip=(1.0, 5.0)) -> np.ndarray:
  x = {"user_id": table.user_id.astype(str), "item_id": table.item_id.astype(str)}
  return np.clip(model.predict(x, batch_size=8192, verbose=0), *clip)
