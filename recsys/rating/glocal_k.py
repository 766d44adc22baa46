"""GLocal-K (Han et al., CIKM 2021): an item autoencoder with local and global kernels.

"GLocal-K: Global and Local Kernels for Recommender Systems" predicts ratings by
reconstructing the item × user rating matrix R (0 where unobserved) with an item-based
autoencoder (each row, one item's ratings by every user, is one example, as in I-AutoRec):

    h1 = σ(R · (W1 ⊙ K1) + b1),   h2 = σ(h1 · (W2 ⊙ K2) + b2),   R̂ = h2 · (W3 ⊙ K3) + b3

* **Local kernel.** Every weight matrix W (n_in × n_out) is masked elementwise by a learned
  RBF-like kernel K[i, j] = max(0, 1 − ||u_i − v_j||²), where each input unit i and each
  output unit j has a learned 5-d embedding (u_i, v_j, initialised near 0 so K starts near
  1). Pushing embeddings apart drives K to exactly 0, so the kernel sparsifies the layer.
* **Pre-training** minimises ½·Σ_observed (R − R̂)² + λ₂/2·Σ||W||² + λₛ/2·Σ||K||² over all
  layers (λ₂ = 20, λₛ = 0.006 for ML-100K), full-batch with L-BFGS-B.
* **Global kernel.** The pre-trained reconstruction R̂ is average-pooled over users into one
  value per item, and a learned (items × 9) matrix maps that vector to a 3×3 convolution
  kernel G (scaled dot product). Fine-tuning reconstructs from relu(conv2d(R, G)) instead
  of R, through the same (pre-trained, further trained) kernel layers, with the same loss;
  G is recomputed from the current weights at every step.

Training follows the authors' public code: each "epoch" is one fresh `scipy` L-BFGS-B run of
5 iterations (10 curvature pairs) over the whole matrix; ML-100K runs 30 pre-training and
60 fine-tuning epochs there, and the published 0.889 RMSE is the best *test* RMSE over the
fine-tuning epochs. Here the epoch counts are chosen on a validation slice of the training
ratings instead (`recsys/rating/glocal_k_validate.py`), and predictions are clipped to [1, 5].

**Transductive.** A prediction for (user, item) reads the user's column of the training
matrix, so users and items must be in the matrix the model was fitted on, and new ratings
need a refit. It is a benchmark rating model (`recsys/bench.py`), not part of the two-tower
SavedModel the Recommendation API serves.

**Cost.** Dense in the matrix, not in the number of ratings: one loss evaluation is about
6 · items · users · hidden multiply-adds for pre-training (forward + backward of three
layers) and twice that for fine-tuning (the global kernel's pass and the reconstruction);
ML-100K (1,682 × 943, hidden 500) is ~5 and ~10 GFLOP per evaluation, several evaluations
per L-BFGS-B iteration. Memory: the matrix, 1.2 M weights and the inputs × outputs × 5
embedding differences of the largest layer (2.4 M floats), plus L-BFGS-B's 2 × 10
parameter-sized float64 vectors.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from recsys.data.interactions import Interactions
from recsys.rating import lbfgs


@dataclasses.dataclass(frozen=True)
class Config:
  """Hyper-parameters; the defaults are the paper's for ML-100K, epochs chosen on validation."""

  hidden: int = 500  # units of each hidden layer
  layers: int = 2  # hidden layers
  kernel_dim: int = 5  # size of the local kernel's embeddings
  global_kernel_size: int = 3  # the global convolution kernel is size × size
  lambda_2: float = 20.0  # L2 on the weights W
  lambda_s: float = 0.006  # L2 on the local kernels K (sparsity)
  dot_scale: float = 1.0  # scale of the global kernel's dot product
  # Chosen on 5% of u1.base (glocal_k_validate, 2026-12-01): the best validation RMSE of
  # pre-training epochs 1-50 (0.8810 at 48), then of fine-tuning epochs 1-64 from there (0.8815
  # at 19; no improvement over the following 45). The authors' code runs 30 and 60.
  pretrain_epochs: int = 48
  finetune_epochs: int = 19
  iterations_per_epoch: int = 5  # L-BFGS-B iterations per epoch (both stages)
  maxcor: int = 10  # L-BFGS-B curvature pairs
  seed: int = 0


def local_kernel(u: tf.Tensor, v: tf.Tensor) -> tf.Tensor:
  """K[i, j] = max(0, 1 − ||u_i − v_j||²) for u [n_in, 1, d] and v [1, n_out, d]; in [0, 1].

  The squared distance is summed directly (not via `tf.norm`, whose gradient is NaN where
  u_i = v_j).
  """
  return tf.maximum(0.0, 1.0 - tf.reduce_sum(tf.square(u - v), axis=-1))


class KernelLayer(tf.Module):
  """y = activation(x · (W ⊙ K) + b) with K the local kernel of learned unit embeddings.

  Initialised as the authors' TF 1 code was: W and b Glorot-uniform (TF 1's default for
  `tf.get_variable`; for the 1-d b that is U(±√(3/n_out))), the embeddings N(0, 10⁻³)
  truncated at two standard deviations.
  """

  def __init__(self, n_in: int, n_out: int, kernel_dim: int,
               activation: Callable[[tf.Tensor], tf.Tensor], seed: int, name: str):
    super().__init__(name=name)
    limit_w, limit_b = np.sqrt(6.0 / (n_in + n_out)), np.sqrt(3.0 / n_out)
    self.w = tf.Variable(tf.random.stateless_uniform([n_in, n_out], [seed, 0], -limit_w, limit_w),
                         name="w")
    self.u = tf.Variable(tf.random.stateless_truncated_normal([n_in, 1, kernel_dim], [seed, 1],
                                                              stddev=1e-3), name="u")
    self.v = tf.Variable(tf.random.stateless_truncated_normal([1, n_out, kernel_dim], [seed, 2],
                                                              stddev=1e-3), name="v")
    self.b = tf.Variable(tf.random.stateless_uniform([n_out], [seed, 3], -limit_b, limit_b),
                         name="b")
    self.activation = activation

  def kernel(self) -> tf.Tensor:
    """The local kernel K [n_in, n_out], in [0, 1]."""
    return local_kernel(self.u, self.v)

  def __call__(self, x: tf.Tensor, kernel: tf.Tensor | None = None) -> tf.Tensor:
    kernel = self.kernel() if kernel is None else kernel
    return self.activation(tf.matmul(x, self.w * kernel) + self.b)

  def regularization(self, lambda_2: float, lambda_s: float,
                     kernel: tf.Tensor | None = None) -> tf.Tensor:
    """λ₂/2·||W||² + λₛ/2·||K||² (TF 1's `l2_regularizer`, which halves)."""
    kernel = self.kernel() if kernel is None else kernel
    return lambda_2 * tf.nn.l2_loss(self.w) + lambda_s * tf.nn.l2_loss(kernel)


class GlocalKNetwork(tf.Module):
  """The kernel autoencoder over rows of an items × users matrix, and the global kernel."""

  def __init__(self, num_items: int, num_users: int, config: Config):
    super().__init__(name="glocal_k")
    self.config = config
    sizes = [num_users] + [config.hidden] * config.layers + [num_users]
    self.kernel_layers = [
        KernelLayer(sizes[i], sizes[i + 1], config.kernel_dim,
                    tf.nn.sigmoid if i < config.layers else tf.identity,
                    seed=config.seed * 100 + i, name=f"layer{i}")
        for i in range(len(sizes) - 1)]
    g = config.global_kernel_size
    self.conv_kernel = tf.Variable(tf.random.stateless_truncated_normal(
        [num_items, g * g], [config.seed * 100 + 99, 0], stddev=0.1), name="conv_kernel")

  @property
  def layer_variables(self) -> list[tf.Variable]:
    return [v for layer in self.kernel_layers for v in (layer.w, layer.u, layer.v, layer.b)]

  def kernels(self) -> list[tf.Tensor]:
    return [layer.kernel() for layer in self.kernel_layers]

  def regularization(self, kernels: list[tf.Tensor]) -> tf.Tensor:
    c = self.config
    return tf.add_n([layer.regularization(c.lambda_2, c.lambda_s, k)
                     for layer, k in zip(self.kernel_layers, kernels, strict=True)])

  def autoencode(self, x: tf.Tensor, kernels: list[tf.Tensor]) -> tf.Tensor:
    for layer, k in zip(self.kernel_layers, kernels, strict=True):
      x = layer(x, k)
    return x

  def global_kernel(self, ratings: tf.Tensor, kernels: list[tf.Tensor]) -> tf.Tensor:
    """G [g, g, 1, 1]: the reconstruction pooled over users (one value per item) · conv_kernel."""
    pooled = tf.reduce_mean(self.autoencode(ratings, kernels), axis=1)[tf.newaxis]  # [1, items]
    g = self.config.global_kernel_size
    return tf.reshape(tf.matmul(pooled, self.conv_kernel) * self.config.dot_scale, [g, g, 1, 1])

  def pretrained(self, ratings: tf.Tensor, kernels: list[tf.Tensor] | None = None) -> tf.Tensor:
    """The pre-training reconstruction R̂ of `ratings` [items, users]."""
    return self.autoencode(ratings, self.kernels() if kernels is None else kernels)

  def finetuned(self, ratings: tf.Tensor, kernels: list[tf.Tensor] | None = None) -> tf.Tensor:
    """The fine-tuned reconstruction: autoencode(relu(conv2d(R, G)))."""
    kernels = self.kernels() if kernels is None else kernels
    g = self.global_kernel(ratings, kernels)
    convolved = tf.nn.relu(tf.nn.conv2d(ratings[tf.newaxis, :, :, tf.newaxis], g,
                                        strides=1, padding="SAME"))[0, :, :, 0]
    return self.autoencode(convolved, kernels)


@dataclasses.dataclass(frozen=True)
class RatingMatrix:
  """Ratings as a dense items × users matrix (0 where unobserved) over fixed id vocabularies."""

  users: np.ndarray  # str, column order
  items: np.ndarray  # str, row order
  ratings: np.ndarray  # float32 [items, users]
  mask: np.ndarray  # float32 [items, users], 1 where observed

  @classmethod
  def build(cls, table: Interactions, users: np.ndarray | None = None,
            items: np.ndarray | None = None) -> RatingMatrix:
    """The matrix of `table`'s ratings; vocabularies default to the ids in `table`.

    Raises:
      ValueError: if the table has no ratings, or ids outside the given vocabularies.
    """
    if table.rating is None or not len(table):
      raise ValueError("GLocal-K needs explicit ratings; this interaction table has none")
    users = np.unique(table.user_id) if users is None else np.asarray(users, dtype=object)
    items = np.unique(table.item_id) if items is None else np.asarray(items, dtype=object)
    empty = np.zeros((len(items), len(users)), np.float32)
    matrix = cls(users, items, empty, empty.copy())
    rows, cols = matrix.positions(table)
    matrix.ratings[rows, cols] = table.rating
    matrix.mask[rows, cols] = 1.0
    return matrix

  def positions(self, table: Interactions) -> tuple[np.ndarray, np.ndarray]:
    """(item row, user column) of every rating in `table`.

    Raises:
      ValueError: naming ids not in the matrix (the model is transductive: refit with them).
    """
    found = []
    for ids, vocab, what in ((table.item_id, self.items, "item"), (table.user_id, self.users, "user")):
      index = {x: i for i, x in enumerate(vocab)}
      pos = np.array([index.get(x, -1) for x in ids], dtype=np.int64)
      if (pos < 0).any():
        unknown = sorted(set(np.asarray(ids)[pos < 0]))
        raise ValueError(f"{len(unknown)} {what} id(s) not in the rating matrix (e.g. {unknown[:5]}); "
                         f"GLocal-K only scores {what}s it was fitted with: pass them in "
                         f"`{what}s=` when fitting")
      found.append(pos)
    return found[0], found[1]


@dataclasses.dataclass
class GlocalK:
  """A fitted model: the network, the matrix it reconstructs, and the training history."""

  network: GlocalKNetwork
  matrix: RatingMatrix
  history: dict = dataclasses.field(default_factory=dict)
  clip: tuple[float, float] = (1.0, 5.0)

  def reconstruction(self) -> np.ndarray:
    """Predicted ratings [items, users], clipped."""
    full = self.network.finetuned(tf.constant(self.matrix.ratings)).numpy()
    return np.clip(full, *self.clip)

  def predict(self, table: Interactions, reconstruction: np.ndarray | None = None) -> np.ndarray:
    """Clipped predictions for `table`'s (user, item) pairs, in its row order."""
    rows, cols = self.matrix.positions(table)
    full = self.reconstruction() if reconstruction is None else reconstruction
    return full[rows, cols]


def _rmse(pred: np.ndarray, truth: np.ndarray) -> float:
  return float(np.sqrt(np.mean((pred - truth) ** 2)))


def fit(train: Interactions, users: np.ndarray | None = None, items: np.ndarray | None = None,
        config: Config = Config(), validation: Interactions | None = None,
        log: Callable[[str], None] | None = None) -> GlocalK:
  """Pre-trains then fine-tunes GLocal-K on `train`'s ratings.

  Args:
    train: the ratings to fit (and the matrix predictions are made from).
    users, items: the id vocabularies (matrix columns and rows); default: the ids in `train`.
      Pass the full catalogue to score items or users with no training rating.
    config: hyper-parameters and epoch counts.
    validation: optional ratings (disjoint from `train`, ids in the vocabularies). When
      given, the validation RMSE after every epoch is recorded in `history`, and at the end of
      each stage the weights of its best epoch are restored (early-stopping selection):
      `history["best_pretrain_epoch"]`, `history["best_finetune_epoch"]`.
    log: called with a progress line per epoch.

  Returns:
    The fitted model; `history` also holds per-epoch losses and the training seconds.

  Raises:
    ValueError: for tables without ratings, ids outside the vocabularies, or epoch counts < 1.
  """
  if config.pretrain_epochs < 1 or config.finetune_epochs < 1:
    raise ValueError(f"pretrain_epochs={config.pretrain_epochs} and finetune_epochs="
                     f"{config.finetune_epochs} must both be at least 1")
  start = time.time()
  matrix = RatingMatrix.build(train, users, items)
  network = GlocalKNetwork(len(matrix.items), len(matrix.users), config)
  ratings, mask = tf.constant(matrix.ratings), tf.constant(matrix.mask)
  val_pos = matrix.positions(validation) if validation is not None else None
  history: dict = {"pretrain": [], "finetune": []}

  def stage_loss(output: Callable, variables: list[tf.Variable]):
    @tf.function
    def loss_and_gradients():
      with tf.GradientTape() as tape:
        kernels = network.kernels()
        pred = output(ratings, kernels)
        loss = tf.nn.l2_loss(mask * (ratings - pred)) + network.regularization(kernels)
      return loss, tape.gradient(loss, variables)
    return loss_and_gradients

  stages = (("pretrain", network.pretrained, network.layer_variables, config.pretrain_epochs),
            ("finetune", network.finetuned, [*network.layer_variables, network.conv_kernel],
             config.finetune_epochs))
  for stage, output, variables, epochs in stages:
    loss_and_gradients = stage_loss(output, variables)
    predict = tf.function(lambda o=output: o(ratings))
    best = (np.inf, 0, None)
    for epoch in range(1, epochs + 1):
      result = lbfgs.minimize(loss_and_gradients, variables, config.iterations_per_epoch,
                              config.maxcor)
      entry = {"epoch": epoch, "loss": float(result.fun), "nfev": int(result.nfev),
               "seconds": round(time.time() - start, 1)}
      if val_pos is not None:
        full = np.clip(predict().numpy(), 1.0, 5.0)
        entry["val_rmse"] = _rmse(full[val_pos], validation.rating)
        if entry["val_rmse"] < best[0]:
          best = (entry["val_rmse"], epoch, [v.numpy() for v in variables])
      history[stage].append(entry)
      if log:
        log(f"glocal-k {stage} epoch {epoch}/{epochs}: " +
            ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                      for k, v in entry.items() if k != "epoch"))
    if best[2] is not None:
      for v, value in zip(variables, best[2], strict=True):
        v.assign(value)
      history[f"best_{stage}_epoch"], history[f"best_{stage}_val_rmse"] = best[1], best[0]
  history["train_seconds"] = time.time() - start
  return GlocalK(network, matrix, history)
