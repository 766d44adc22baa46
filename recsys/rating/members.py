"""The rating models the served blend stacks: GLocal-K seeds, biased MF, user + item biases.

Each member is a `blend.Member`: it fits one table's ratings and predicts another's rows. The
GLocal-K members share the matrix vocabularies (`users`, `items`): the global kernel convolves
neighbouring columns, so users go in id order (numeric ids by number, as the authors' code
reads MovieLens), items in catalogue order.

    members = rating_members(users, items, seeds=3, glocal=glocal_k.Config())
    held = blend.holdout_predictions(members, base, targets, cache_dir=cache_dir(workdir, glocal))
"""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np

from common.data import fingerprint
from recsys import baselines
from recsys.rating import blend, glocal_k

GLOCAL_K_PREFIX = "GLocal-K seed"
MF = "biased MF (dim 64)"
BIASES = "user + item biases"


def matrix_users(user_ids: np.ndarray) -> np.ndarray:
  """The distinct users in the matrix's column order: by number when every id is numeric."""
  unique = sorted(set(np.asarray(user_ids).astype(str)))
  if all(u.isdigit() for u in unique):
    unique.sort(key=int)
  return np.array(unique, dtype=object)


def rating_members(users: np.ndarray, items: np.ndarray, seeds: int,
                   glocal: glocal_k.Config = glocal_k.Config()) -> dict[str, blend.Member]:
  """GLocal-K with `seeds` initialisations (`glocal`'s epoch counts), biased MF and the biases.

  Raises:
    ValueError: if `seeds` is below 1.
  """
  if seeds < 1:
    raise ValueError(f"glocal_k_seeds={seeds}: a blend needs at least one GLocal-K seed")
  members: dict[str, blend.Member] = {}
  for seed in range(seeds):
    config = dataclasses.replace(glocal, seed=seed)
    members[f"{GLOCAL_K_PREFIX} {seed} ({glocal.pretrain_epochs}+{glocal.finetune_epochs} L-BFGS-B epochs)"] = (
        lambda train, target, config=config: glocal_k.fit(train, users, items, config).predict(target))
  for name, dim in ((MF, 64), (BIASES, 0)):
    members[name] = lambda train, target, dim=dim: baselines.predict_ratings(
        baselines.fit_biased_mf(train, dim=dim), target)
  return members


def is_glocal_k(name: str) -> bool:
  return name.startswith(GLOCAL_K_PREFIX)


def cache_dir(workdir: str, glocal: glocal_k.Config = glocal_k.Config()) -> str:
  """Where member predictions are cached: one folder per set of member hyper-parameters, so
  changing a setting refits (after changing a model's code, delete the workdir's rating_fits)."""
  settings = repr((dataclasses.replace(glocal, seed=0), inspect.signature(baselines.fit_biased_mf)))
  return f"{workdir.rstrip('/')}/rating_fits/{fingerprint.Fingerprint('settings').update(settings).hexdigest()}"
