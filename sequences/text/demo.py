"""The text part of `make demo`: shop-world item text -> category, trained and exported (< 1 min).

    summary = demo.run(workdir="/tmp/trellis/demo/text", world_dir="/tmp/trellis/world")

Trains `configs/shopworld.py` (a CNN over WordPiece ids) on the world's
"title. description" texts, evaluates it on the hash test split beside the majority baseline and
publishes the raw-string SavedModel under `<workdir>/exports/text_shop_category/<version>`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from common import config as config_lib
from sequences.text import classifier_module, export, train
from sequences.text.configs import shopworld as shopworld_config


def train_and_export(workdir: str | os.PathLike, world_dir: str | os.PathLike,
                     export_root: str | os.PathLike | None = None,
                     overrides: Mapping[str, Any] | None = None):
  """Trains `configs/shopworld.py` on the world and publishes it; returns (result, export dir).

  The result is `common.training.result.TrainResult` (`train.train_and_evaluate`'s).

  Args:
    workdir: run directory (a fresh one per call: an existing run is resumed by its backup).
    world_dir: a written shop world (items.csv).
    export_root: where to publish; default `<workdir>/exports`.
    overrides: config fields to change by dotted path, e.g. {"data.train_fraction": 0.7}.
  """
  workdir = os.fspath(workdir)  # may be gs://
  config = shopworld_config.get_config()
  config.data.path = str(world_dir)
  for path, value in (overrides or {}).items():
    *parents, field = path.split(".")
    node = config
    for parent in parents:
      node = node[parent]
    node[field] = value  # the config is locked: an unknown field is an error
  config = config_lib.resolve(config, print_fn=lambda *_: None)
  config_lib.save(config, workdir)
  result = train.train_and_evaluate(config, workdir)
  return result, export.export_result(result, export_root or os.path.join(workdir, "exports"))


def run(workdir: str | os.PathLike, world_dir: str | os.PathLike,
        export_root: str | os.PathLike | None = None,
        overrides: Mapping[str, Any] | None = None) -> dict:
  """Trains and exports the demo classifier; returns a summary beside the majority baseline.

  Returns:
    {"model", "examples", "test_examples", "accuracy", "macro_f1", "baseline_accuracy",
     "baseline_macro_f1", "train_seconds", "export_dir", "example": {text, label, predicted}}
  """
  result, export_dir = train_and_export(workdir, world_dir, export_root, overrides)
  split = result.extras["split"]
  test = result.extras["parts"][split]
  module = classifier_module.TextClassifierModule(result.extras["tokenizer"], result.model,
                                                  result.data.class_names)
  predicted = module.classify([test.texts[0]])["label"].numpy()[0].decode()
  return {
      "model": result.model.__class__.__name__,
      "examples": len(result.data.texts),
      "test_examples": len(test.texts),
      **result.metrics[split]["model"],
      **{f"baseline_{k}": v for k, v in result.metrics[split]["baseline"].items()},
      "train_seconds": round(result.train_seconds, 1),
      "export_dir": str(export_dir),
      "example": {"text": test.texts[0], "label": result.data.class_names[test.labels[0]],
                  "predicted": predicted},
  }
