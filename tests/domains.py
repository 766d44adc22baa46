"""Each domain's demo model, trained briefly on a shop world and published into one export root.

The integration tests need real exports of every domain, made by the domains' own public
train/export functions (not a copy of them), but in seconds rather than the minutes the demo
spends: the overrides below cut epochs and sizes, never the code path. Each function returns
what a test needs to compare the served answer with the in-process one: the export directory,
and for vision and text the Keras model before export.

    world_dir = domains.write_world(tmp / "world")
    vision = domains.train_vision(tmp / "vision", world_dir, export_root)
    recsys = domains.train_recsys(tmp / "recsys", world_dir, export_root, vision.model_dir)
"""

from __future__ import annotations

import dataclasses
import pathlib
import time
from typing import Any

from common.export import metadata
from common.shopworld import world as shopworld

WORLD_SEED = 0
WORLD_SIZE = "tiny"  # 300 items: every pipeline runs, nothing learns much (not the point here)


@dataclasses.dataclass
class Trained:
  """One domain's published model and what the test compares it with."""

  name: str              # model name under the export root
  export_dir: pathlib.Path  # <export_root>/<name>/<version>
  seconds: float         # train + export wall time (printed at the end of the session)
  keras: Any = None      # the in-process model before export, where the domain has one
  extra: dict = dataclasses.field(default_factory=dict)

  @property
  def model_dir(self) -> pathlib.Path:
    return self.export_dir.parent

  @property
  def version(self) -> int:
    return int(self.export_dir.name)


def write_world(directory: pathlib.Path) -> pathlib.Path:
  """The tiny deterministic shop world every domain trains on."""
  shopworld.generate(seed=WORLD_SEED, size=WORLD_SIZE).write(directory, overwrite=True)
  return directory


def train_vision(workdir: pathlib.Path, world_dir: pathlib.Path, export_root: pathlib.Path) -> Trained:
  """ResNet-20 on the item images for one epoch, as vision/demo.py does, published as vision_resnet20."""
  from common import config as config_lib
  from vision import export, train
  from vision.configs import default

  start = time.time()
  cfg = default.get_config()
  cfg.data.path = str(world_dir)
  cfg.epochs = 1
  cfg = config_lib.resolve(cfg, print_fn=lambda _: None)
  run_dir = str(workdir / "run")
  train.train_and_evaluate(cfg, run_dir)
  export_dir = pathlib.Path(export.export(run_dir, str(export_root)))
  _, info, model = train.load_run(run_dir)  # the trained Keras model, as training left it
  return Trained(cfg.export.model_name, export_dir, time.time() - start, keras=model,
                 extra={"info": info})


def train_text(workdir: pathlib.Path, world_dir: pathlib.Path, export_root: pathlib.Path) -> Trained:
  """The shop-category text classifier (sequences/text/demo.py) for two epochs."""
  from sequences.text import demo

  start = time.time()
  result, export_dir = demo.train_and_export(workdir, world_dir, export_root,
                                             overrides={"epochs": 2})
  name = metadata.read(str(export_dir))["model_name"]
  return Trained(name, pathlib.Path(export_dir), time.time() - start, keras=result.model,
                 extra={"tokenizer": result.extras["tokenizer"], "class_names": result.data.class_names,
                        "texts": list(result.data.texts)})


def train_timeseries(workdir: pathlib.Path, world_dir: pathlib.Path,
                     export_root: pathlib.Path) -> Trained:
  """The daily-demand forecaster (sequences/timeseries/demo.py) for two epochs."""
  from sequences.timeseries import demo

  start = time.time()
  summary = demo.run(workdir, world_dir, export_root=export_root, epochs=2)
  export_dir = pathlib.Path(summary["export_dir"])
  return Trained(metadata.read(str(export_dir))["model_name"], export_dir, time.time() - start,
                 extra={"lookback": summary["lookback_days"], "horizon": summary["horizon_days"]})


def recsys_config(vision_export: str = ""):
  """recsys' default config made small: one epoch, short histories, the image tower frozen."""
  from recsys.configs import default

  cfg = default.get_config()
  cfg.epochs = 1
  cfg.batch_size = 128
  cfg.model.max_history = 8
  cfg.train_image_encoder = False
  cfg.early_stopping_patience = 0
  cfg.verbose = 0
  cfg.vision_export = vision_export
  return cfg


def train_recsys(workdir: pathlib.Path, world_dir: pathlib.Path, export_root: pathlib.Path,
                 vision_export: str | pathlib.Path = "") -> Trained:
  """The two-tower recommender, its image tower the vision export's encoder when given."""
  from recsys import export, train

  start = time.time()
  cfg = recsys_config(str(vision_export))
  cfg.data.path = str(world_dir)
  run = train.train_and_evaluate(cfg, str(workdir))
  export_dir = export.export_run(cfg, run, str(export_root), "recsys")
  return Trained("recsys", pathlib.Path(export_dir), time.time() - start, keras=run.model,
                 extra={"data": run.data, "config": cfg})

