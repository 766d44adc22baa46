"""The TensorFlow Recommenders tutorials' models, as baselines trained in the run.

Retrieval (https://www.tensorflow.org/recommenders/examples/basic_retrieval): a user-id embedding and an
item-id embedding (32 dimensions each, one out-of-vocabulary row), dot-product scores,
in-batch softmax (`tfrs.tasks.Retrieval`), Adagrad with learning rate 0.1, batches of 8,192
shuffled training interactions, 3 epochs. It ignores time and the order of the history: what
it knows of a user is one vector learned from all their training interactions, so it is the
bar a sequence-aware two-tower model must clear.

Ranking (https://www.tensorflow.org/recommenders/examples/basic_ranking): the same two
embeddings concatenated into an MLP (256, 64, 1 units) regressing the rating with MSE,
Adagrad 0.1, batches of 8,192, 3 epochs.

Retrieval scores follow the retrieval baselines' interface (`score(examples) -> [rows, num_items]` in
catalogue order), so `recsys.metrics` ranks it like the others.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf
import tensorflow_recommenders as tfrs

from recsys.data.interactions import Interactions
from recsys.features import Examples


@dataclasses.dataclass(frozen=True)
class TutorialConfig:
  """The tutorial's settings."""

  embedding_dim: int = 32
  learning_rate: float = 0.1  # Adagrad
  batch_size: int = 8192
  epochs: int = 3
  seed: int = 0


class _TwoEmbeddings(tfrs.Model):
  def __init__(self, users: np.ndarray, items: np.ndarray, dim: int):
    super().__init__()
    self.user_model = tf.keras.Sequential([
        tf.keras.layers.StringLookup(vocabulary=list(users), mask_token=None),
        tf.keras.layers.Embedding(len(users) + 1, dim)])
    self.item_model = tf.keras.Sequential([
        tf.keras.layers.StringLookup(vocabulary=list(items), mask_token=None),
        tf.keras.layers.Embedding(len(items) + 1, dim)])
    self.task = tfrs.tasks.Retrieval()

  def compute_loss(self, features, training=False):
    return self.task(self.user_model(features["user_id"]), self.item_model(features["item_id"]),
                     compute_metrics=False)


class TfrsTutorialRetrieval:
  """The tutorial's model over a catalogue; `fit` on training interactions, then `score`."""

  def __init__(self, item_ids: np.ndarray, config: TutorialConfig = TutorialConfig()):
    self.item_ids = np.asarray(item_ids).astype(str)
    self.config = config
    self.model: _TwoEmbeddings | None = None
    self.item_table: np.ndarray | None = None

  def fit(self, train: Interactions) -> TfrsTutorialRetrieval:
    if len(train) == 0:
      raise ValueError("the TFRS tutorial baseline needs training interactions; the table is empty")
    c = self.config
    tf.keras.utils.set_random_seed(c.seed)
    users = np.unique(train.user_id.astype(str))
    self.model = _TwoEmbeddings(users, self.item_ids, c.embedding_dim)
    self.model.compile(optimizer=tf.keras.optimizers.Adagrad(learning_rate=c.learning_rate))
    ds = tf.data.Dataset.from_tensor_slices({"user_id": train.user_id.astype(str),
                                             "item_id": train.item_id.astype(str)})
    ds = ds.shuffle(100_000, seed=c.seed).batch(c.batch_size).cache()
    self.model.fit(ds, epochs=c.epochs, verbose=0)
    self.item_table = self.model.item_model(tf.constant(self.item_ids)).numpy()
    return self

  def score(self, examples: Examples) -> np.ndarray:
    if self.model is None:
      raise RuntimeError("call fit() before score()")
    users = self.model.user_model(tf.constant(examples.user_id.astype(str))).numpy()
    return users @ self.item_table.T


class _RatingMLP(tfrs.Model):
  def __init__(self, users: np.ndarray, items: np.ndarray, dim: int):
    super().__init__()
    self.embeddings = _TwoEmbeddings(users, items, dim)
    self.mlp = tf.keras.Sequential([tf.keras.layers.Dense(256, activation="relu"),
                                    tf.keras.layers.Dense(64, activation="relu"),
                                    tf.keras.layers.Dense(1)])
    self.task = tfrs.tasks.Ranking(loss=tf.keras.losses.MeanSquaredError())

  def call(self, features):
    e = self.embeddings
    x = tf.concat([e.user_model(features["user_id"]), e.item_model(features["item_id"])], axis=1)
    return tf.squeeze(self.mlp(x), axis=-1)

  def compute_loss(self, features, training=False):
    return self.task(labels=features["rating"], predictions=self(features))


def fit_ranking(train: Interactions, config: TutorialConfig = TutorialConfig()) -> _RatingMLP:
  """The ranking tutorial's rating model fitted on `train` (which must have ratings)."""
  if train.rating is None or len(train) == 0:
    raise ValueError("the TFRS ranking tutorial baseline needs rated training interactions")
  tf.keras.utils.set_random_seed(config.seed)
  model = _RatingMLP(np.unique(train.user_id.astype(str)), np.unique(train.item_id.astype(str)),
                     config.embedding_dim)
  model.compile(optimizer=tf.keras.optimizers.Adagrad(learning_rate=config.learning_rate))
  ds = tf.data.Dataset.from_tensor_slices({"user_id": train.user_id.astype(str),
                                           "item_id": train.item_id.astype(str),
                                           "rating": train.rating.astype(np.float32)})
  model.fit(ds.shuffle(100_000, seed=config.seed).batch(config.batch_size).cache(),
            epochs=config.epochs, verbose=0)
  return model


def predict_ratings(model: _RatingMLP, table: Interactions, clip=(1.0, 5.0)) -> np.ndarray:
  out = model({"user_id": tf.constant(table.user_id.astype(str)),
               "item_id": tf.constant(table.item_id.astype(str))})
  return np.clip(out.numpy(), *clip)
