"""Re-evaluates a finished run: `bazel run //recsys:evaluate -- --workdir=DIR [--world_dir=...]`.

Restores the run's final weights and prints full-catalogue Recall/NDCG/MRR, coverage,
popularity bias and how personal the lists are (catalogue coverage and mean pairwise
Jaccard overlap of 1,000 users' top-K lists) for the model and the baselines, overall and
per slice (user activity, item popularity, cold items), and RMSE/MAE when the data has ratings.
"""

import json

from absl import app, flags

from common import config as config_lib
from recsys import train

_WORKDIR = flags.DEFINE_string("workdir", None, "a finished `//recsys:train` workdir")
_WORLD_DIR = flags.DEFINE_string("world_dir", None, "shop world folder (for dataset=shopworld)")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "real datasets folder (for dataset=movielens)")
_SPLIT = flags.DEFINE_enum("split", "test", ["validation", "test"], "which held-out events to rank")


def format_results(results: dict, k: int) -> str:
  """A fixed-width table: one row per model overall, then the model's slices."""
  keys = [f"recall@{k}", f"ndcg@{k}", "mrr", "coverage", "popularity_pct", "user_coverage", "overlap"]
  lines = [f"{'model':<22}" + "".join(f"{key:>15}" for key in keys)]
  for name in ("model", "item_cooccurrence", "most_popular"):
    overall = results.get(name, {}).get("overall")
    if overall:
      lines.append(f"{name:<22}" + "".join(f"{overall[key]:>15.4f}" for key in keys))
  for name, m in results.get("model", {}).get("slices", {}).items():
    lines.append(f"  {name:<28} n={m['n']:<6} recall@{k} {m[f'recall@{k}']:.4f}  ndcg@{k} {m[f'ndcg@{k}']:.4f}")
  if "rating" in results.get("model", {}):
    r = results["model"]["rating"]
    lines.append(f"rating: RMSE {r['rmse']:.4f}  MAE {r['mae']:.4f}")
  return "\n".join(lines)


def main(argv):
  del argv
  if not _WORKDIR.value:
    raise app.UsageError("--workdir is required (a finished //recsys:train workdir)")
  cfg = config_lib.read_saved(_WORKDIR.value)
  run = train.restore(cfg, _WORKDIR.value, _DATA_DIR.value, _WORLD_DIR.value)
  data = run["data"]
  examples = data.test if _SPLIT.value == "test" else data.validation
  results = train.evaluate_model(run["model"], data, examples, k=cfg.eval_k)
  print(format_results(results, cfg.eval_k))
  print(json.dumps(results["model"].get("overall", {}), indent=1))


if __name__ == "__main__":
  app.run(main)
