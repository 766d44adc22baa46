"""Exports a trained recommender: `bazel run //recsys:export -- --workdir=DIR --export_root=ROOT`.

Rebuilds the run's data and model from the config saved in `--workdir`, restores the
trained weights, embeds the catalogue and publishes one SavedModel (see export.py).
"""

import hashlib
import pathlib

from absl import app, flags

from common import config as config_lib
from recsys import export, train


def _fingerprint(data) -> str:
  h = hashlib.sha256()
  for a in (data.train_events.user_id, data.train_events.item_id, data.train_events.timestamp,
            data.catalog.item_id):
    h.update("\x1f".join(map(str, a)).encode())
  return h.hexdigest()[:16]


def export_run(cfg, run: dict, export_root: str, model_name: str) -> pathlib.Path:
  """Publishes the model of a `train.train_and_evaluate` result."""
  model, data, results = run["model"], run["data"], run["results"]
  table = train.candidate_table(model, data)
  metrics = results.get("model", {}).get("overall", {}) | {
      k: v for k, v in results.get("model", {}).get("rating", {}).items()}
  baseline = results.get("item_cooccurrence", {}).get("overall", {})
  return export.export(
      model, data.catalog.item_id, table, export_root=export_root, model_name=model_name,
      config=cfg, metrics=metrics, baseline_metrics=baseline, data_fingerprint=_fingerprint(data),
      has_text=model.item_tower.text_encoder is not None,
      has_image=model.item_tower.image_encoder is not None)


_WORKDIR = flags.DEFINE_string("workdir", None, "a finished `//recsys:train` workdir")
_EXPORT_ROOT = flags.DEFINE_string("export_root", None, "TF Serving model root to publish into")
_MODEL_NAME = flags.DEFINE_string("model_name", "recsys", "model name under --export_root")
_WORLD_DIR = flags.DEFINE_string("world_dir", None, "shop world folder (for dataset=shopworld)")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "real datasets folder (for dataset=movielens)")


def main(argv):
  del argv
  if not _WORKDIR.value or not _EXPORT_ROOT.value:
    raise app.UsageError("--workdir and --export_root are required")
  workdir = pathlib.Path(_WORKDIR.value)
  weights = workdir / train.FINAL_WEIGHTS
  if not weights.with_name(weights.name + ".index").exists():
    raise app.UsageError(f"{weights} does not exist: train first with "
                         f"`bazel run //recsys:train -- --workdir={workdir}`")
  cfg = config_lib.read_saved(workdir)
  run = train.restore(cfg, workdir, _DATA_DIR.value, _WORLD_DIR.value)
  print(f"exported {export_run(cfg, run, _EXPORT_ROOT.value, _MODEL_NAME.value)}")


if __name__ == "__main__":
  app.run(main)
