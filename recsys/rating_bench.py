"""The bench's rating table: MovieLens 100K u1 split, RMSE and MAE of every rating model.

The canonical u1 split (80,000 / 20,000 ratings): the multitask model's rating head, the TFRS
basic-ranking tutorial's model, GLocal-K (`recsys/rating/glocal_k.py`, transductive) for each of
`glocal_k_seeds` initialisations and their mean, biased MF, user + item biases, the global mean,
and a linear blend of the GLocal-K mean with the two MF baselines (`recsys/rating/blend.py`:
weights fitted on a 5% validation slice of u1.base by members fitted without it), beside
published figures (GC-MC 0.910, GLocal-K 0.889). The validation RMSEs that chose the blend are
printed under the table; u1.test is read only for the scores. Member fits are cached under the
workdir, so a re-run or a run after a crash refits only what is missing.
"""

import dataclasses
import inspect
import time

import numpy as np

from common.data import fingerprint
from recsys import baselines, tfrs_tutorial, train
from recsys.configs import movielens_rating
from recsys.data import movielens as movielens_data
from recsys.rating import blend as rating_blend
from recsys.rating import glocal_k

PUBLISHED_RMSE = {"GC-MC (Berg et al. 2017)": 0.910, "GLocal-K (Han et al. 2021)": 0.889}


def table(data_dir: str, workdir: str, epochs: int, glocal_k_seeds: int) -> str:
  """The rating table (see recsys/bench.py), fitted and scored in this call."""
  base, test = movielens_data.load_split("u1", data_dir)
  rows = []

  def add(name, pred, seconds, truth=test.rating):
    err = np.asarray(pred) - truth
    rows.append(f"| {name:<34} | {np.sqrt(np.mean(err ** 2)):.4f} | {np.mean(np.abs(err)):.4f} | {seconds:7.0f} |")

  start = time.time()
  cfg = movielens_rating.get_config()
  cfg.epochs = epochs
  run = train.train_and_evaluate(cfg, f"{workdir}/rating", data_dir=data_dir)
  examples = run.data.test  # ordered by user and time, not in u1.test's file order
  if len(examples.rating) != len(test.rating):
    raise RuntimeError(f"the model scored {len(examples.rating)} of u1's {len(test.rating)} test ratings")
  add(f"multitask two-tower + DCN ({run.epochs} of <={cfg.epochs} ep)",
      train.predict_ratings(run.model, run.data, examples), time.time() - start,
      truth=examples.rating)
  start = time.time()
  tutorial = tfrs_tutorial.fit_ranking(base)
  add("TFRS basic ranking tutorial (3 epochs)", tfrs_tutorial.predict_ratings(tutorial, test),
      time.time() - start)
  members = _rating_members(data_dir, glocal_k_seeds)
  held = rating_blend.holdout_predictions(members, base, test, cache_dir=_fits_cache_dir(workdir),
                                          log=lambda line: print(line, flush=True))
  for name in members:
    add(name, held.test[name], held.seconds["test"][name])
  blend_lines = _blend(held, add)
  add("global mean", np.full(len(test), base.rating.mean()), 0.0)
  lines = ["| model (ML-100K u1 split) | RMSE | MAE | train s |", "|---|---:|---:|---:|", *rows]
  lines += [f"| {name} (published) | {v:.3f} | - | - |" for name, v in PUBLISHED_RMSE.items()]
  return "\n".join([*lines, "", *blend_lines])


def _fits_cache_dir(workdir: str) -> str:
  """Where member predictions are cached: one folder per set of member hyper-parameters, so
  changing a default refits (after changing a model's code, delete --workdir's rating_fits)."""
  settings = repr((glocal_k.Config(), inspect.signature(baselines.fit_biased_mf)))
  return f"{workdir}/rating_fits/{fingerprint.Fingerprint('settings').update(settings).hexdigest()}"


def _rating_members(data_dir: str, seeds: int) -> dict[str, rating_blend.Member]:
  """GLocal-K with `seeds` initialisations (epoch counts chosen on validation), biased MF and
  the user + item biases: each fits a table's ratings and predicts another's."""
  users = sorted(movielens_data.load_users(data_dir), key=int)  # id order: the global kernel convolves neighbours
  items = movielens_data.load_catalog(data_dir).item_id
  c = glocal_k.Config()
  members = {}
  for seed in range(seeds):
    config = dataclasses.replace(c, seed=seed)
    members[f"GLocal-K seed {seed} ({c.pretrain_epochs}+{c.finetune_epochs} L-BFGS-B epochs)"] = (
        lambda train, target, config=config: glocal_k.fit(train, users, items, config).predict(target))
  for name, dim in (("biased MF (dim 64)", 64), ("user + item biases", 0)):
    members[name] = lambda train, target, dim=dim: baselines.predict_ratings(
        baselines.fit_biased_mf(train, dim=dim), target)
  return members


def _blend(held: rating_blend.HoldoutPredictions, add) -> list[str]:
  """Adds the GLocal-K seed average and the blend with the MF baselines to the table; returns
  the validation figures they were chosen by (the test ratings play no part in them)."""
  truth = held.validation_rating
  glocal = [n for n in held.validation if n.startswith("GLocal-K")]
  rmse = lambda pred: float(np.sqrt(np.mean((pred - truth) ** 2)))  # noqa: E731
  lines = [f"Validation RMSE (5% of u1.base, members fitted on the other 95%; {len(truth)} ratings):"]
  lines += [f"  {n}: {rmse(held.validation[n]):.4f}" for n in held.validation]
  for k in range(2, len(glocal) + 1):
    lines.append(f"  mean of GLocal-K seeds 0-{k - 1}: {rmse(np.mean([held.validation[n] for n in glocal[:k]], 0)):.4f}")
  def features(preds):
    out = {"GLocal-K mean": np.mean([preds[n] for n in glocal], axis=0)}
    out.update({n: preds[n] for n in preds if n not in glocal})
    return out
  seconds = sum(held.seconds["test"][n] for n in glocal)
  add(f"GLocal-K, mean of {len(glocal)} seeds", features(held.test)["GLocal-K mean"], seconds)
  blend = rating_blend.Blend.fit(features(held.validation), truth)
  lines.append(f"  blend of GLocal-K mean + MF baselines: {rmse(blend.predict(features(held.validation))):.4f} "
               "(in-sample: its weights were fitted here)")
  lines.append("  blend weights: " + ", ".join(f"{n} {w:+.3f}" for n, w in zip(blend.names, blend.weights, strict=True))
               + f", intercept {blend.intercept:+.3f}")
  add(f"blend: GLocal-K mean of {len(glocal)} + MF + biases (weights on validation)",
      blend.predict(features(held.test)), sum(held.seconds["test"].values()))
  return lines
