"""The bench's retrieval table: MovieLens 100K leave-last-out, the two-tower beside its baselines.

Leave-last-out by time (each user's last rating is the test target, the one before it
validation), full catalogue of 1,682 movies, items the user rated excluded: Recall@10, NDCG@10,
MRR, coverage, popularity bias and how personal the lists are (catalogue coverage and mean
pairwise Jaccard overlap of the users' top-10 lists) for the two-tower model (GRU user tower
over the last 50 movies) **with and without its text tower** (titles and genres read by
`//sequences/text:encoder`'s FastText body, `recsys/encoders.py`), time-decayed popularity, item
co-occurrence and the TFRS basic-retrieval tutorial's model, each trained in this run.

`recsys/configs/movielens.py` is one arm (chosen on validation Recall@10); the other arm is the
same config with the text tower turned on or off (`configs`).

Under the table: each slice (target popularity, user activity, cold items: targets with at most
5 training interactions) for the three strongest rows; the text tower's gain overall and on the
cold items with its paired-bootstrap noise (`recsys/comparison.py`); and Recall@10 per age band,
gender and occupation for the chosen two-tower and item co-occurrence (the strongest baseline),
with the best-worst gap (`recsys/fairness.py`). `bazel run //recsys:bench` prints it.
"""

import time

import numpy as np

from recsys import comparison, fairness, metrics, tfrs_tutorial, train
from recsys.configs import default, movielens
from recsys.data import movielens as movielens_data


def _row(name, m, seconds=None):
  cells = [f"{m.get(k, float('nan')):.4f}" if k in m else "   -  "
           for k in ("recall@10", "ndcg@10", "mrr", "coverage", "popularity_pct",
                     "user_coverage", "overlap")]
  t = f"{seconds:8.0f}" if seconds is not None else "       -"
  return f"| {name:<44} | " + " | ".join(cells) + f" | {t} |"


def configs(epochs: int):
  """(with text tower, without): the MovieLens config and its id-only ablation, `epochs` each.

  The ablation drops only the content: no text tower, and so no id dropout (it exists to make
  the content views carry an item) and no category loss (it trains the content-only view).
  """
  with_text = movielens.get_config()
  if not with_text.text_tower:  # the config chose id only: its text arm keeps the default's content loss
    with_text.text_tower = True
    with_text.model.id_dropout = default.get_config().model.id_dropout
    with_text.model.category_weight = default.get_config().model.category_weight
  without = movielens.get_config()
  without.text_tower = False
  without.model.id_dropout = 0.0
  without.model.category_weight = 0.0
  for cfg in (with_text, without):
    cfg.epochs = epochs
  return with_text, without


def _test_metrics(run, score, k: int) -> dict:
  """metrics.evaluate on the run's test queries, with each query's rank."""
  data = run.data
  history_len = np.array([len(data.seen.get(u, ())) for u in data.test.user_id])
  return metrics.evaluate(score, data.test, data.catalog.item_id, data.train_counts, data.seen,
                          history_len, k=k, with_ranks=True)


def _model_metrics(run, k: int) -> dict:
  return _test_metrics(run, train.score_fn(run.model, train.candidate_table(run.model, run.data)), k)


def gain_lines(target_ids: np.ndarray, train_counts: dict[str, int], hits_with: np.ndarray,
               hits_without: np.ndarray) -> list[str]:
  """The text tower's gain in Recall@10, overall and on the cold items, with its noise.

  Args:
    target_ids: each test query's target item.
    train_counts: item -> training interactions (what makes a target a cold item).
    hits_with, hits_without: per query, whether each model put the target in its top 10.
  """
  counts = np.array([train_counts.get(i, 0) for i in target_ids])
  cold = counts <= metrics.COLD_ITEM_MAX
  return ["\nText tower's gain in Recall@10 (with - without, the same test queries):",
          f"  overall: {comparison.paired_difference(hits_with, hits_without).describe()}",
          f"  {metrics.COLD_ITEMS}: "
          f"{comparison.paired_difference(hits_with[cold], hits_without[cold]).describe()}"]


def fairness_lines(users: dict[str, dict[str, str]], user_ids: np.ndarray,
                   hits: dict[str, np.ndarray]) -> list[str]:
  """Recall@10 per age band, gender and occupation for each model, with the best-worst gap.

  Args:
    users: `movielens.load_users`' records (u.user).
    user_ids: each test query's user.
    hits: model name -> per query, whether the target was in its top 10.
  """
  groups = fairness.user_groups(users)
  reports = {name: fairness.by_group(groups, user_ids, h) for name, h in hits.items()}
  return ["\nRecall@10 per user group (one test query per user; gap = best - worst group of "
          f">= {fairness.MIN_GROUP} users):", *fairness.table("Recall@10", reports)]


def table(data_dir: str, workdir: str, epochs: int) -> str:
  """The retrieval table (see the module docstring), trained and scored in this call."""
  bench_start = time.time()
  with_cfg, without_cfg = configs(epochs)
  k = with_cfg.eval_k
  runs, seconds = {}, {}
  for name, cfg in (("text", with_cfg), ("id only", without_cfg)):
    start = time.time()
    runs[name] = train.train_and_evaluate(cfg, f"{workdir}/retrieval_{name.replace(' ', '_')}",
                                          data_dir=data_dir)
    seconds[name] = time.time() - start
  text, plain = runs["text"], runs["id only"]
  if list(text.data.test.user_id) != list(plain.data.test.user_id):
    raise RuntimeError("the two two-tower runs read different test queries; they must share the data")
  data = text.data
  m_text, m_plain = _model_metrics(text, k), _model_metrics(plain, k)
  m_cooc = _test_metrics(text, text.baseline.score, k)
  m_pop = text.metrics["test"]["most_popular"]
  start = time.time()
  tutorial = tfrs_tutorial.TfrsTutorialRetrieval(data.catalog.item_id).fit(data.train_events)
  m_tutorial = _test_metrics(text, tutorial.score, k)
  tutorial_seconds = time.time() - start

  recall = f"recall@{k}"
  text_chosen = movielens.get_config().text_tower
  mark = {"text": "; chosen" if text_chosen else "", "id only": "" if text_chosen else "; chosen"}
  lines = ["| model (ML-100K leave-last-out, full catalogue) | Recall@10 | NDCG@10 | MRR | coverage "
           "| pop. pct | users' coverage | overlap | train s |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
           _row(f"two-tower GRU + text tower ({text.epochs} epochs){mark['text']}", m_text["overall"],
                seconds["text"]),
           _row(f"two-tower GRU, id only ({plain.epochs} epochs){mark['id only']}", m_plain["overall"],
                seconds["id only"]),
           _row("item co-occurrence", m_cooc["overall"]),
           _row("most popular (30-day half-life)", m_pop["overall"]),
           _row("TFRS basic retrieval tutorial (3 epochs)", m_tutorial["overall"], tutorial_seconds)]
  lines.append("\n(text tower: titles and genres through //sequences/text:encoder's FastText body; "
               "users' coverage and overlap: the catalogue share covered by, and the mean pairwise "
               "Jaccard overlap of, the first 1,000 users' top-10 lists; train s: training and the "
               "run's validation and test evaluation; chosen: recsys/configs/movielens.py's arm, picked on "
               "validation Recall@10)")
  ratio = (m_text if text_chosen else m_plain)["overall"][recall] / m_tutorial["overall"][recall]
  lines.append(f"\nRecall@10 of the chosen two-tower vs the TFRS tutorial model: {ratio:.2f}x "
               "(aim: >= 2x)")

  lines.append("\nPer slice, Recall@10 (n = test queries in the slice): "
               "two-tower + text / id only / item co-occurrence")
  for name, m in m_text["slices"].items():
    lines.append(f"  {name:<44} n={m['n']:4d}  {m[recall]:.3f} / "
                 f"{m_plain['slices'][name][recall]:.3f} / {m_cooc['slices'][name][recall]:.3f}")

  hits_text, hits_plain = m_text["ranks"] < k, m_plain["ranks"] < k
  lines += gain_lines(data.test.item_id, data.train_counts, hits_text, hits_plain)
  # The fairness slices are the chosen model's: the arm recsys/configs/movielens.py trains.
  chosen = ("two-tower + text", hits_text) if text_chosen else \
      ("two-tower, id only", hits_plain)
  lines += fairness_lines(movielens_data.load_users(data_dir), data.test.user_id,
                          {chosen[0]: chosen[1], "item co-occurrence": m_cooc["ranks"] < k})
  lines.append(f"\nRetrieval table: {time.time() - bench_start:.0f} s in all (two-tower trainings "
               f"{seconds['text']:.0f} s with text, {seconds['id only']:.0f} s id only; tutorial "
               f"{tutorial_seconds:.0f} s)")
  return "\n".join(lines)
