"""GLocal-K on tiny synthetic rating matrices: shapes, the kernel's range, and that it learns."""

import numpy as np
import pytest
import tensorflow as tf

from recsys.data.interactions import Interactions
from recsys.rating import glocal_k, lbfgs

_SMALL = glocal_k.Config(hidden=24, pretrain_epochs=8, finetune_epochs=6, lambda_2=0.5)


def _table(users, items, ratings):
  return Interactions(np.asarray(users, dtype=object), np.asarray(items, dtype=object),
                      np.zeros(len(users), np.int64), np.asarray(ratings, np.float32))


def _low_rank(num_users=40, num_items=50, seed=0):
  """Every (user, item) of a rank-2 rating matrix in [1, 5], split 70/30 into train/test."""
  rng = np.random.default_rng(seed)
  p, q = rng.normal(size=(num_users, 2)), rng.normal(size=(num_items, 2))
  r = np.clip(np.rint(3 + 0.9 * p @ q.T), 1, 5)
  u, i = np.meshgrid(np.arange(num_users), np.arange(num_items), indexing="ij")
  u, i, r = u.ravel(), i.ravel(), r.ravel()
  train = rng.random(len(r)) < 0.7
  ids = lambda prefix, x: np.array([f"{prefix}{k}" for k in x], dtype=object)  # noqa: E731
  table = _table(ids("u", u), ids("i", i), r)
  return table.take(train), table.take(~train)


def test_local_kernel_is_in_unit_interval_and_one_on_equal_embeddings():
  rng = np.random.default_rng(0)
  u = tf.constant(rng.normal(size=(7, 1, 5)), tf.float32)
  v = tf.constant(rng.normal(size=(1, 4, 5)), tf.float32)
  k = glocal_k.local_kernel(u, v).numpy()
  assert k.shape == (7, 4)
  assert (k >= 0).all() and (k <= 1).all()
  assert (k == 0).any()  # far-apart embeddings switch the weight off entirely
  same = glocal_k.local_kernel(u[:4], tf.transpose(u[:4], [1, 0, 2])).numpy()
  np.testing.assert_allclose(np.diag(same), 1.0)


def test_network_shapes_and_initial_kernel_near_one():
  net = glocal_k.GlocalKNetwork(num_items=6, num_users=9, config=_SMALL)
  x = tf.zeros([6, 9])
  assert net.pretrained(x).shape == (6, 9)
  assert net.finetuned(x).shape == (6, 9)
  assert net.global_kernel(x, net.kernels()).shape == (3, 3, 1, 1)
  assert [k.shape for k in net.kernels()] == [(9, 24), (24, 24), (24, 9)]
  assert min(float(tf.reduce_min(k)) for k in net.kernels()) > 0.99  # embeddings start near 0


def test_fits_a_low_rank_matrix_better_than_the_global_mean():
  train, test = _low_rank()
  model = glocal_k.fit(train, config=_SMALL)
  pred = model.predict(test)
  assert pred.shape == (len(test),) and pred.min() >= 1 and pred.max() <= 5
  rmse = np.sqrt(np.mean((pred - test.rating) ** 2))
  mean_rmse = np.sqrt(np.mean((train.rating.mean() - test.rating) ** 2))
  assert rmse < 0.75 * mean_rmse, (rmse, mean_rmse)
  assert model.reconstruction().shape == (50, 40)  # items × users
  for k in model.network.kernels():
    assert float(tf.reduce_min(k)) >= 0 and float(tf.reduce_max(k)) <= 1
  assert len(model.history["pretrain"]) == 8 and len(model.history["finetune"]) == 6


def test_validation_records_every_epoch_and_restores_the_best():
  train, held = _low_rank(seed=1)
  model = glocal_k.fit(train, config=_SMALL, validation=held)
  h = model.history
  val = [e["val_rmse"] for e in h["finetune"]]
  assert h["best_finetune_epoch"] == int(np.argmin(val)) + 1
  rmse = np.sqrt(np.mean((model.predict(held) - held.rating) ** 2))
  assert rmse == pytest.approx(min(val), abs=1e-4)


def test_unknown_ids_and_missing_ratings_are_clear_errors():
  train, _ = _low_rank(num_users=5, num_items=5)
  model = glocal_k.fit(train, config=glocal_k.Config(hidden=4, pretrain_epochs=1,
                                                     finetune_epochs=1))
  with pytest.raises(ValueError, match=r"user id\(s\) not in the rating matrix"):
    model.predict(_table(["stranger"], ["i0"], [3.0]))
  with pytest.raises(ValueError, match="explicit ratings"):
    glocal_k.fit(Interactions(train.user_id, train.item_id, train.timestamp))
  with pytest.raises(ValueError, match="at least 1"):
    glocal_k.fit(train, config=glocal_k.Config(pretrain_epochs=0))


def test_lbfgs_minimises_a_quadratic_in_place():
  x = tf.Variable([3.0, -2.0])
  y = tf.Variable([[1.0]])
  target = tf.constant([1.0, 2.0])

  def loss_and_gradients():
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum((x - target) ** 2) + tf.reduce_sum((y - 4.0) ** 2)
    return loss, tape.gradient(loss, [x, y])

  result = lbfgs.minimize(loss_and_gradients, [x, y], maxiter=50)
  np.testing.assert_allclose(x.numpy(), [1.0, 2.0], atol=1e-4)
  np.testing.assert_allclose(y.numpy(), [[4.0]], atol=1e-4)
  assert result.fun < 1e-6
  with pytest.raises(ValueError, match="maxiter"):
    lbfgs.minimize(loss_and_gradients, [x], maxiter=0)
