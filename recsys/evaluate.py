"""Re-evaluates a finished run: `bazel run //recsys:evaluate -- --workdir=DIR [--split=validation]`.

Restores the run's final weights and prints full-catalogue Recall/NDCG/MRR, coverage,
popularity bias and how personal the lists are (catalogue coverage and mean pairwise
Jaccard overlap of 1,000 users' top-K lists) for the model and the baselines, overall and
per slice (user activity, item popularity, cold items), and RMSE/MAE when the data has ratings.
The data is the run's (`data.*` in its saved config; MovieLens from --data_dir).

    results = evaluate.evaluate_run(workdir, "test")     # the library (//recsys:evaluate_lib)
    print(evaluate.format_results(results, k=10))
"""

from __future__ import annotations

import json

from absl import app, flags

from common import config as config_lib
from common.data import data_dir as data_dir_lib
from recsys import train

SPLITS = ("validation", "test")
# Rows of the table: results key -> what the table calls it.
ROWS = {"model": "model", "baseline": "item co-occurrence", "most_popular": "most popular"}


def evaluate_run(workdir: str, split: str = "test", data_dir: str | None = None) -> dict:
  """Metrics of a finished `//recsys:train` run on `split`, beside the baselines.

  Returns `train.evaluate_model`'s {"model": ..., "baseline": ..., "most_popular": ...}.

  Raises:
    ValueError: `split` is not "validation" or "test", or the data is not the run's.
    FileNotFoundError: `workdir` holds no finished run.
  """
  if split not in SPLITS:
    raise ValueError(f"split {split!r} is not one of {', '.join(SPLITS)}")
  config = config_lib.read_saved(workdir)
  run = train.restore(config, workdir, data_dir)
  examples = run.data.test if split == "test" else run.data.validation
  fitted = {"baseline": run.baseline, "most_popular": run.extras["most_popular"]}
  return train.evaluate_model(run.model, run.data, examples, k=config.eval_k, fitted_baselines=fitted)


def format_results(results: dict, k: int) -> str:
  """A fixed-width table: one row per model overall, then the model's slices."""
  keys = [f"recall@{k}", f"ndcg@{k}", "mrr", "coverage", "popularity_pct", "user_coverage", "overlap"]
  lines = [f"{'model':<22}" + "".join(f"{key:>15}" for key in keys)]
  for name, label in ROWS.items():
    overall = results.get(name, {}).get("overall")
    if overall:
      lines.append(f"{label:<22}" + "".join(f"{overall[key]:>15.4f}" for key in keys))
  for name, m in results.get("model", {}).get("slices", {}).items():
    lines.append(f"  {name:<28} n={m['n']:<6} recall@{k} {m[f'recall@{k}']:.4f}  ndcg@{k} {m[f'ndcg@{k}']:.4f}")
  if "rating" in results.get("model", {}):
    r = results["model"]["rating"]
    lines.append(f"rating: RMSE {r['rmse']:.4f}  MAE {r['mae']:.4f}")
  return "\n".join(lines)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}")
  if not flags.FLAGS.workdir:
    raise app.UsageError("--workdir is required (a finished //recsys:train workdir)")
  results = evaluate_run(flags.FLAGS.workdir, flags.FLAGS.split, flags.FLAGS.data_dir)
  print(format_results(results, config_lib.read_saved(flags.FLAGS.workdir).eval_k))
  print(json.dumps(results.get("model", {}).get("overall", {}), indent=1))


if __name__ == "__main__":
  # Flags exist only in this program, so importing the library never clashes with another --workdir.
  flags.DEFINE_string("workdir", None, "a finished `//recsys:train` workdir")
  flags.DEFINE_enum("split", "test", list(SPLITS), "which held-out events to rank")
  data_dir_lib.define_flag()
  app.run(main)
