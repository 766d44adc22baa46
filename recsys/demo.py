"""The recommender of `make demo`: trained on the shop world and exported (several minutes on 2 cores).

The summary puts the model beside the two baselines on the world's leave-last-out test:
Recall@10 and NDCG@10, and how personal the lists are, measured on 1,000 users' top-10
lists: the share of the catalogue they cover, and their mean pairwise Jaccard overlap
(1.0 = everyone sees the same list).
"""

from __future__ import annotations

from recsys import export, train
from recsys.configs import default

# Rows of the summary table: metrics key -> what the table calls it.
MODELS = {"model": "two-tower", "baseline": "item co-occurrence", "most_popular": "most popular"}


def run(workdir: str, world_dir: str, export_root: str, vision_export: str = "") -> dict:
  """Trains the default recommender on `world_dir`, exports it, returns a summary.

  Args:
    workdir: scratch directory for this domain.
    world_dir: the generated shop world.
    export_root: TF Serving model root; the model is published as `recsys`.
    vision_export: a vision export whose ResNet becomes the frozen image tower ("" = fresh).
  """
  cfg = default.get_config()
  cfg.data.path = world_dir
  cfg.vision_export = vision_export
  result = train.train_and_evaluate(cfg, workdir)
  export_dir = export.export_run(cfg, result, export_root, "recsys")
  test = result.metrics["test"]
  rows = {name: {key: test[name]["overall"][key]
                 for key in ("recall@10", "ndcg@10", "user_coverage", "overlap", "users")}
          for name in MODELS}
  return {
      "export": str(export_dir),
      "recall@10": rows["model"]["recall@10"],
      "baseline recall@10 (item co-occurrence)": rows["baseline"]["recall@10"],
      "baseline recall@10 (most popular)": rows["most_popular"]["recall@10"],
      "rows": rows,
      "epochs": result.epochs,
      "train seconds": round(result.train_seconds, 1),
  }


def table(summary: dict) -> str:
  """The summary's rows as a Markdown table (Recall and NDCG beside the personalisation columns)."""
  rows = summary["rows"]
  users = rows["model"]["users"]
  cooc = rows["baseline"]["recall@10"]
  lines = [f"| recommender (leave-last-out test) | Recall@10 | × co-occurrence | NDCG@10 | "
           f"coverage of {users} users' top-10 | mean pairwise Jaccard of the lists |",
           "|---|---:|---:|---:|---:|---:|"]
  for name, label in MODELS.items():
    m = rows[name]
    ratio = f"{m['recall@10'] / cooc:.2f}" if cooc else "–"
    lines.append(f"| {label} | {m['recall@10']:.3f} | {ratio} | {m['ndcg@10']:.3f} | "
                 f"{m['user_coverage']:.3f} | {m['overlap']:.3f} |")
  return "\n".join(lines)
