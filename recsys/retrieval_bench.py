"""The bench's retrieval table: MovieLens 100K leave-last-out, the two-tower beside its baselines.

Leave-last-out by time (each user's last rating is the test target, the one before it
validation), full catalogue of 1,682 movies, items the user rated excluded: Recall@10, NDCG@10,
MRR, coverage, popularity bias and how personal the lists are (catalogue coverage and mean
pairwise Jaccard overlap of the users' top-10 lists) for the two-tower model (GRU user tower
over the last 50 movies), time-decayed popularity, item co-occurrence and the TFRS
basic-retrieval tutorial's model, each trained in this run. `bazel run //recsys:bench` prints it.
"""

import time

import numpy as np

from recsys import metrics, tfrs_tutorial, train
from recsys.configs import movielens


def _row(name, m, seconds=None):
  cells = [f"{m.get(k, float('nan')):.4f}" if k in m else "   -  "
           for k in ("recall@10", "ndcg@10", "mrr", "coverage", "popularity_pct",
                     "user_coverage", "overlap")]
  t = f"{seconds:8.0f}" if seconds is not None else "       -"
  return f"| {name:<34} | " + " | ".join(cells) + f" | {t} |"


def table(data_dir: str, workdir: str, epochs: int) -> str:
  """The retrieval table (see recsys/bench.py), trained and scored in this call."""
  cfg = movielens.get_config()
  cfg.epochs = epochs
  start = time.time()
  run = train.train_and_evaluate(cfg, f"{workdir}/retrieval", data_dir=data_dir)
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
