"""The recommender of `make demo`: trained on the shop world and exported (a few minutes on 2 cores)."""

from __future__ import annotations

import pathlib

from recsys import export, train
from recsys.configs import default


def run(workdir: str, world_dir: str, export_root: str, vision_export: str = "") -> dict:
  """Trains the default recommender on `world_dir`, exports it, returns a summary.

  Args:
    workdir: scratch directory for this domain.
    world_dir: the generated shop world.
    export_root: TF Serving model root; the model is published as `recsys`.
    vision_export: a vision export whose ResNet becomes the frozen image tower ("" = fresh).
  """
  cfg = default.get_config()
  cfg.vision_export = vision_export
  cfg.epochs = 3
  out = train.train_and_evaluate(cfg, str(pathlib.Path(workdir)), world_dir=world_dir)
  export_dir = export.export_run(cfg, out, export_root, "recsys")
  r = out["results"]
  return {
      "export": str(export_dir),
      "recall@10": r["model"]["overall"]["recall@10"],
      "baseline recall@10 (item co-occurrence)": r["item_cooccurrence"]["overall"]["recall@10"],
      "baseline recall@10 (most popular)": r["most_popular"]["overall"]["recall@10"],
      "train seconds": round(r["train_seconds"], 1),
  }
