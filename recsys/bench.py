"""`bazel run //recsys:bench`: MovieLens 100K quality of the recommender beside its baselines.

Two tables, each from one run on this machine:

1. Retrieval, leave-last-out by time (each user's last rating is the test target, the one
   before it validation), full catalogue of 1,682 movies, items the user rated excluded:
   Recall@10, NDCG@10, MRR, coverage, popularity bias and how personal the lists are
   (catalogue coverage and mean pairwise Jaccard overlap of the users' top-10 lists) for
   the two-tower model (GRU user tower over the last 50 movies), time-decayed popularity,
   item co-occurrence and the TFRS basic-retrieval tutorial's model, each trained in this run.
2. Rating prediction on the canonical u1 split (80,000 / 20,000 ratings): RMSE and MAE
   of the multitask model's rating head, the TFRS basic-ranking tutorial's model, GLocal-K (`recsys/rating/glocal_k.py`, transductive) for
   each of --glocal_k_seeds initialisations and their mean, biased MF, user + item biases,
   the global mean, and a linear blend of the GLocal-K mean with the two MF baselines
   (`recsys/rating/blend.py`: weights fitted on a 5% validation slice of u1.base by members
   fitted without it), beside published figures (GC-MC 0.910, GLocal-K 0.889). The
   validation RMSEs that chose the blend are printed under the table; u1.test is read only
   for the scores. Member fits are cached under --workdir, so a re-run or a run after a
   crash refits only what is missing.

    bazel run //recsys:bench -- [--epochs=6] [--rating_epochs=20] [--glocal_k_seeds=5] [--data_dir=...]

Run time of the rating table on 2 cores: ~50 min with 5 seeds (the multitask model ~11 min,
each GLocal-K fit ~3.5 min idle, fitted twice per seed).
"""

import dataclasses
import inspect
import time

import numpy as np
from absl import app, flags

from common.data import data_dir as data_dir_lib
from common.data import fingerprint
from recsys import baselines, metrics, tfrs_tutorial, train
from recsys.configs import movielens, movielens_rating
from recsys.data import movielens as movielens_data
from recsys.rating import blend as rating_blend
from recsys.rating import glocal_k

_EPOCHS = flags.DEFINE_integer(
    "epochs", 6, "retrieval training epochs (the README table's setting since issue 8)")
_RATING_EPOCHS = flags.DEFINE_integer("rating_epochs", 20, "rating model training epochs")
_WORKDIR = flags.DEFINE_string("workdir", "/tmp/trellis/recsys_bench", "scratch directory")
_GLOCAL_K_SEEDS = flags.DEFINE_integer(
    "glocal_k_seeds", 5, "GLocal-K initialisations to fit and average (two fits each: one without "
    "the validation slice, for the blend's weights, and one on all of u1.base)", lower_bound=1)
_TABLES = flags.DEFINE_list("tables", ["retrieval", "rating"], "which tables to measure")
data_dir_lib.define_flag()

PUBLISHED_RMSE = {"GC-MC (Berg et al. 2017)": 0.910, "GLocal-K (Han et al. 2021)": 0.889}


def _row(name, m, seconds=None):
  cells = [f"{m.get(k, float('nan')):.4f}" if k in m else "   -  "
           for k in ("recall@10", "ndcg@10", "mrr", "coverage", "popularity_pct",
                     "user_coverage", "overlap")]
  t = f"{seconds:8.0f}" if seconds is not None else "       -"
  return f"| {name:<34} | " + " | ".join(cells) + f" | {t} |"


def retrieval_table(data_dir: str) -> str:
  cfg = movielens.get_config()
  cfg.epochs = _EPOCHS.value
  start = time.time()
  run = train.train_and_evaluate(cfg, f"{_WORKDIR.value}/retrieval", data_dir=data_dir)
  r = run.metrics["test"]
  seconds = time.time() - start
  data = run.data
  start = time.time()
  tutorial = tfrs_tutorial.TfrsTutorialRetrieval(data.catalog.item_id).fit(data.train_events)
  history_len = np.array([len(data.seen.get(u, ())) for u in data.test.user_id])
  tutorial_m = metrics.evaluate(tutorial.score, data.test, data.catalog.item_id, data.train_counts,
                                data.seen, history_len, k=cfg.eval_k)["overall"]
  lines = ["| model (ML-100K leave-last-out, full catalogue) | Recall@10 | NDCG@10 | MRR | coverage "
           "| pop. pct | users' coverage | overlap | train s |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
           _row(f"two-tower GRU ({cfg.epochs} epochs)", r["model"]["overall"], seconds),
           _row("item co-occurrence", r["baseline"]["overall"]),
           _row("most popular (30-day half-life)", r["most_popular"]["overall"]),
           _row("TFRS basic retrieval tutorial (3 epochs)", tutorial_m, time.time() - start)]
  lines.append("\n(users' coverage and overlap: the catalogue share covered by, and the mean pairwise "
               "Jaccard overlap of, the first 1,000 users' top-10 lists)")
  ratio = r["model"]["overall"]["recall@10"] / tutorial_m["recall@10"]
  lines.append(f"\nRecall@10 vs the TFRS tutorial model: {ratio:.2f}x (aim: >= 2x)")
  lines.append("\nPer slice (two-tower):")
  for name, m in r["model"]["slices"].items():
    lines.append(f"  {name:<28} n={m['n']:4d}  Recall@10 {m['recall@10']:.3f}  NDCG@10 {m['ndcg@10']:.3f}")
  return "\n".join(lines)


def rating_table(data_dir: str) -> str:
  base, test = movielens_data.load_split("u1", data_dir)
  rows = []

  def add(name, pred, seconds, truth=test.rating):
    err = np.asarray(pred) - truth
    rows.append(f"| {name:<34} | {np.sqrt(np.mean(err ** 2)):.4f} | {np.mean(np.abs(err)):.4f} | {seconds:7.0f} |")

  start = time.time()
  cfg = movielens_rating.get_config()
  cfg.epochs = _RATING_EPOCHS.value
  run = train.train_and_evaluate(cfg, f"{_WORKDIR.value}/rating", data_dir=data_dir)
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
  members = _rating_members(data_dir, _GLOCAL_K_SEEDS.value)
  held = rating_blend.holdout_predictions(members, base, test, cache_dir=_fits_cache_dir(),
                                          log=lambda line: print(line, flush=True))
  for name in members:
    add(name, held.test[name], held.seconds["test"][name])
  blend_lines = _blend(held, add)
  add("global mean", np.full(len(test), base.rating.mean()), 0.0)
  lines = ["| model (ML-100K u1 split) | RMSE | MAE | train s |", "|---|---:|---:|---:|", *rows]
  lines += [f"| {name} (published) | {v:.3f} | - | - |" for name, v in PUBLISHED_RMSE.items()]
  return "\n".join([*lines, "", *blend_lines])


def _fits_cache_dir() -> str:
  """Where member predictions are cached: one folder per set of member hyper-parameters, so
  changing a default refits (after changing a model's code, delete --workdir's rating_fits)."""
  settings = repr((glocal_k.Config(), inspect.signature(baselines.fit_biased_mf)))
  return f"{_WORKDIR.value}/rating_fits/{fingerprint.Fingerprint('settings').update(settings).hexdigest()}"


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


def main(argv):
  del argv
  data_dir = str(data_dir_lib.resolve(flags.FLAGS.data_dir))
  tables = {"retrieval": retrieval_table, "rating": rating_table}
  unknown = set(_TABLES.value) - set(tables)
  if unknown:
    raise app.UsageError(f"unknown --tables {sorted(unknown)}; choose from {sorted(tables)}")
  for name in _TABLES.value:
    print("\n" + tables[name](data_dir) + "\n", flush=True)


if __name__ == "__main__":
  app.run(main)
