"""The served rating model: the blend's prediction for every (training user, catalogue item).

GLocal-K (`glocal_k.py`) is transductive: its prediction for (user, item) is a fixed function of
the training rating matrix, so it cannot score a user it was not fitted with, and a new rating
changes nothing until it is refitted. Such a model is served the way transductive models are:
fitted at training time, its predictions **materialised** for every pair it can score, and the
table looked up at request time. `ServedRatings` is that table for the blend of `blend.py`
(GLocal-K seed mean + biased MF + user/item biases), fitted by `blend.py`'s protocol:

1. every member is fitted on the training ratings minus a hash-validation slice (5%) and
   predicts that slice; the blend's weights are fitted on those predictions only;
2. every member is refitted on all the training ratings and predicts every (matrix user,
   catalogue item) pair; the blend combines them into `predictions` [users, items].

The export (`recsys/export.py`) carries the table in the SavedModel: its `rank` signature returns
it for a user in the matrix and the multitask DCN head's prediction for anyone else. Member fits
are cached under the workdir (`blend.holdout_predictions`), so a crashed run refits only what is
missing. Size: users × items float32 (MovieLens 100K: 943 × 1,682, 6.3 MB).

    served = served.fit_run(config, data, workdir)   # config.rating_blend.glocal_k_seeds > 0
    served.lookup(user_ids, item_ids)                 # (predictions, in_matrix)
    served.load(workdir)                              # what `fit_run` wrote there
"""

from __future__ import annotations

import dataclasses
import io
import json
import time
from collections.abc import Callable, Mapping

import numpy as np
import tensorflow as tf

from recsys.data.interactions import Interactions
from recsys.rating import blend, glocal_k, members

FILE = "rating_blend/served_ratings.npz"  # under the workdir
GLOCAL_K_MEAN = "GLocal-K mean"


@dataclasses.dataclass
class ServedRatings:
  """The blend's rating for every (matrix user, catalogue item), and how it was chosen."""

  users: np.ndarray  # [U] str: the training matrix's users
  items: np.ndarray  # [I] str: the catalogue
  predictions: np.ndarray  # [U, I] float32, clipped to [1, 5]
  blend: blend.Blend
  validation_rmse: dict[str, float]  # members, seed means and the blend (in-sample), on the slice
  validation_ratings: int = 0  # size of the validation slice
  # Not saved: every member's [U, I] predictions and fit seconds ("validation"/"test" phase),
  # which the bench's table reads.
  members: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
  seconds: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)

  def lookup(self, user_ids: np.ndarray, item_ids: np.ndarray,
             table: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(prediction, in_matrix) per (user, item) row; 0 where the pair is not in the matrix.

    `table` is another [U, I] matrix over the same ids (a member's), default the blend's.
    """
    table = self.predictions if table is None else table
    user_index = {u: i for i, u in enumerate(self.users)}
    item_index = {x: i for i, x in enumerate(self.items)}
    rows = np.array([user_index.get(u, -1) for u in np.asarray(user_ids).astype(str)], np.int64)
    cols = np.array([item_index.get(x, -1) for x in np.asarray(item_ids).astype(str)], np.int64)
    known = (rows >= 0) & (cols >= 0)
    return np.where(known, table[np.maximum(rows, 0), np.maximum(cols, 0)], 0.0), known

  def save(self, workdir: str) -> str:
    """Writes the table and the blend to `<workdir>/rating_blend/` (any tf.io.gfile location)."""
    path = f"{workdir.rstrip('/')}/{FILE}"
    tf.io.gfile.makedirs(path.rsplit("/", 1)[0])
    buffer = io.BytesIO()
    np.savez(buffer, predictions=self.predictions.astype(np.float32),
             users=self.users.astype(str), items=self.items.astype(str),
             weights=self.blend.weights, intercept=self.blend.intercept,
             names=np.array(self.blend.names, dtype=str),
             about=json.dumps({"validation_rmse": self.validation_rmse,
                               "validation_ratings": self.validation_ratings}))
    with tf.io.gfile.GFile(path + ".tmp", "wb") as f:
      f.write(buffer.getvalue())
    tf.io.gfile.rename(path + ".tmp", path, overwrite=True)  # never half a table under FILE
    return path


def load(workdir: str) -> ServedRatings:
  """The table a run with `rating_blend.glocal_k_seeds > 0` wrote to `workdir`.

  Raises:
    FileNotFoundError: the run wrote none, with what to do.
  """
  path = f"{workdir.rstrip('/')}/{FILE}"
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f"{path} does not exist: the run in {workdir} was configured with "
                            "rating_blend.glocal_k_seeds > 0 but did not finish fitting the blend; "
                            "rerun `bazel run //recsys:train` with the same --workdir (member fits "
                            "are cached, only the missing ones are refitted)")
  with tf.io.gfile.GFile(path, "rb") as f, np.load(io.BytesIO(f.read())) as z:
    about = json.loads(str(z["about"]))
    fitted = blend.Blend(tuple(z["names"].tolist()), z["weights"], float(z["intercept"]))
    return ServedRatings(z["users"].astype(object), z["items"].astype(object), z["predictions"],
                         fitted, about["validation_rmse"], about["validation_ratings"])


def rating_metrics(served: ServedRatings, examples, fallback: np.ndarray) -> dict[str, float]:
  """RMSE and MAE of what `rank` serves on `examples` (with ratings): the table for pairs in the
  matrix, `fallback` (the DCN head's predictions, in row order) for the rest; and the share of
  rows the table answered."""
  pred, known = served.lookup(examples.user_id, examples.item_id)
  err = np.where(known, pred, fallback) - examples.rating
  return {"rmse": float(np.sqrt(np.mean(err ** 2))), "mae": float(np.mean(np.abs(err))),
          "matrix_share": float(known.mean())}


def training_ratings(train_events: Interactions, validation) -> Interactions:
  """Every rating a run may learn from: its training events plus its validation examples (the
  blend holds out its own slice). `validation` is a `features.Examples` with ratings."""
  if train_events.rating is None or validation.rating is None:
    raise ValueError("the run's data has no explicit ratings to fit a rating blend on; set "
                     "--config.rating_blend.glocal_k_seeds=0")
  return Interactions(
      np.concatenate([train_events.user_id, validation.user_id]).astype(object),
      np.concatenate([train_events.item_id, validation.item_id]).astype(object),
      np.concatenate([train_events.timestamp, validation.timestamp]).astype(np.int64),
      np.concatenate([train_events.rating, validation.rating]).astype(np.float32))


def check_config(config, has_ratings: bool) -> None:
  """Raises ValueError naming the field and the fix when `config.rating_blend` cannot run."""
  seeds = config.rating_blend.glocal_k_seeds
  if seeds < 0:
    raise ValueError(f"rating_blend.glocal_k_seeds={seeds} is negative; set "
                     "--config.rating_blend.glocal_k_seeds=0 (off) or a number of GLocal-K seeds, e.g. 3")
  if seeds == 0:
    return
  if not has_ratings:
    raise ValueError(f"rating_blend.glocal_k_seeds={seeds} fits a rating blend, but data.source "
                     f"{config.data.source!r} with protocol {config.data.protocol!r} has no explicit "
                     "ratings; set --config.rating_blend.glocal_k_seeds=0, or train on rated data "
                     "(recsys/configs/movielens_rating.py)")
  if config.model.rating_weight <= 0:
    raise ValueError("rating_blend serves the DCN rating head to users outside the rating matrix, "
                     f"but model.rating_weight={config.model.rating_weight} leaves it untrained; set "
                     "--config.model.rating_weight above 0 or rating_blend.glocal_k_seeds=0")
  if not 0 < config.rating_blend.validation_fraction < 1:
    raise ValueError(f"rating_blend.validation_fraction={config.rating_blend.validation_fraction} "
                     "must be between 0 and 1 (the share of training ratings the blend's weights "
                     "are fitted on; 0.05 is the default)")


def glocal_config(config) -> glocal_k.Config:
  """GLocal-K's hyper-parameters from `config.rating_blend` (the rest are the paper's)."""
  rb = config.rating_blend
  return dataclasses.replace(glocal_k.Config(), hidden=rb.glocal_k_hidden,
                             pretrain_epochs=rb.glocal_k_pretrain_epochs,
                             finetune_epochs=rb.glocal_k_finetune_epochs)


def all_pairs(users: np.ndarray, items: np.ndarray) -> Interactions:
  """Every (user, item) pair, user-major: row u * len(items) + i."""
  n = len(users) * len(items)
  return Interactions(np.repeat(np.asarray(users, object), len(items)),
                      np.tile(np.asarray(items, object), len(users)), np.zeros(n, np.int64))


def fit(base: Interactions, users: np.ndarray, items: np.ndarray, seeds: int,
        glocal: glocal_k.Config = glocal_k.Config(), validation_fraction: float = 0.05,
        cache_dir: str | None = None, log: Callable[[str], None] | None = None) -> ServedRatings:
  """Fits the blend's members and weights by `blend.py`'s protocol and materialises the table.

  Args:
    base: the training ratings (the members' final fit; the validation slice comes out of it).
    users, items: the matrix's ids (users in `members.matrix_users` order, the catalogue).
    seeds: GLocal-K initialisations averaged into the blend's first input.
    glocal: GLocal-K's hyper-parameters.
    validation_fraction: the hash-validation share of `base` the weights are fitted on.
    cache_dir: where member predictions are cached (see `blend.holdout_predictions`).
    log: progress lines.
  """
  users, items = np.asarray(users, object), np.asarray(items, object)
  fitted_members = members.rating_members(users, items, seeds, glocal)
  held = blend.holdout_predictions(fitted_members, base, all_pairs(users, items),
                                   validation_fraction=validation_fraction, cache_dir=cache_dir,
                                   log=log)
  truth = held.validation_rating
  rmse = lambda pred: float(np.sqrt(np.mean((pred - truth) ** 2)))  # noqa: E731
  figures = {name: rmse(pred) for name, pred in held.validation.items()}
  glocal_names = [n for n in fitted_members if members.is_glocal_k(n)]
  for k in range(2, len(glocal_names) + 1):
    figures[f"mean of GLocal-K seeds 0-{k - 1}"] = rmse(
        np.mean([held.validation[n] for n in glocal_names[:k]], axis=0))
  weights = blend.Blend.fit(_inputs(held.validation, glocal_names), truth)
  figures["blend (in-sample: its weights were fitted here)"] = rmse(
      weights.predict(_inputs(held.validation, glocal_names)))
  shape = (len(users), len(items))
  table = weights.predict(_inputs(held.test, glocal_names)).astype(np.float32).reshape(shape)
  return ServedRatings(users, items, table, weights, figures, len(truth),
                       {n: p.reshape(shape) for n, p in held.test.items()}, held.seconds)


def _inputs(predictions: Mapping[str, np.ndarray], glocal_names: list[str]) -> dict[str, np.ndarray]:
  """The blend's inputs: the GLocal-K seeds' mean, then every other member as it is."""
  out = {GLOCAL_K_MEAN: np.mean([predictions[n] for n in glocal_names], axis=0)}
  out.update({n: p for n, p in predictions.items() if n not in glocal_names})
  return out


def fit_run(config, train_events: Interactions, validation, catalog_items: np.ndarray,
            workdir: str) -> ServedRatings:
  """`fit` for a training run (`recsys/train.py`): the run's ratings, its catalogue, its
  config's `rating_blend`; caches member fits and saves the table under `workdir`."""
  base = training_ratings(train_events, validation)
  glocal = glocal_config(config)
  start = time.time()
  served = fit(base, members.matrix_users(base.user_id), catalog_items,
               config.rating_blend.glocal_k_seeds, glocal,
               config.rating_blend.validation_fraction,
               cache_dir=members.cache_dir(workdir, glocal), log=lambda line: print(line, flush=True))
  served.save(workdir)
  print(f"rating blend: {len(served.users)} users x {len(served.items)} items in "
        f"{time.time() - start:.0f} s; validation RMSE " +
        ", ".join(f"{n} {v:.4f}" for n, v in served.validation_rmse.items()), flush=True)
  return served
