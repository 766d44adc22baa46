"""`make demo`: the whole product on the synthetic shop world, on one machine.

1. Generates the shop world (items with pictures and descriptions, users, interactions,
   daily demand), deterministic from --seed.
2. Trains and exports, into one TF Serving model root, each domain's demo model:
   the ResNet-20 image classifier, the demand forecaster, the text classifier and the
   recommender (whose image tower is the ResNet just trained).
3. Prints each model's quality beside its baseline.
4. Starts the Recommendation API on those exports, prints recommendations for a few
   users with their recent history, and serves a web page showing them (Ctrl-C stops).

    bazel run //tools:demo -- --workdir=/tmp/trellis [--noserve]
"""

from __future__ import annotations

import pathlib
import time

from absl import app, flags

from common.shopworld import world as shopworld
from recsys import demo as recsys_demo
from sequences.text import demo as text_demo
from sequences.timeseries import demo as timeseries_demo
from serving.recommendation import demo as api_demo
from vision import demo as vision_demo

_WORKDIR = flags.DEFINE_string("workdir", "/tmp/trellis", "where the world, runs and exports go")
_SEED = flags.DEFINE_integer("seed", 0, "shop world seed")
_SIZE = flags.DEFINE_enum("size", "small", ["tiny", "small", "medium"], "shop world size")
_SERVE = flags.DEFINE_bool("serve", True, "end by serving the Recommendation API and its web page")
_PORT = flags.DEFINE_integer("port", 8500, "gRPC port of the Recommendation API")
_REST_PORT = flags.DEFINE_integer("rest_port", 8501, "REST port (and web page) of the Recommendation API")
flags.DEFINE_string("data_dir", None, "unused by the demo (it runs on the synthetic world)")


def _step(title: str):
  print(f"\n=== {title} ===", flush=True)
  return time.time()


def _print_summary(rows: list[tuple[str, str, str, float]]) -> None:
  print("\n| model | quality | baseline | seconds |\n|---|---|---|---:|")
  for name, quality, baseline, seconds in rows:
    print(f"| {name} | {quality} | {baseline} | {seconds:.0f} |")


def main(argv):
  del argv
  root = pathlib.Path(_WORKDIR.value)
  world_dir, export_root = root / "world", root / "exports"
  rows = []

  t = _step(f"shop world ({_SIZE.value}, seed {_SEED.value}) -> {world_dir}")
  world = shopworld.generate(seed=_SEED.value, size=_SIZE.value, progress=True)
  world.write(world_dir, overwrite=True)
  for key, value in world.summary().items():
    print(f"  {key}: {value}")
  print(f"  ({time.time() - t:.0f} s)")

  t = _step("vision: ResNet-20 on the item pictures")
  v = vision_demo.run(str(root / "vision"), str(world_dir), export_root=str(export_root))
  v_test = v.metrics["test"]
  rows.append(("vision ResNet-20 (category from picture)",
               f"accuracy {v_test['model']['accuracy']:.3f}",
               f"majority {v_test['baseline']['accuracy']:.3f}", time.time() - t))

  t = _step("sequences/timeseries: daily demand forecaster")
  ts = timeseries_demo.run(root / "timeseries", world_dir, export_root=export_root)
  rows.append((f"forecaster {ts['model']} ({ts['horizon_days']}-day horizon)",
               f"MSE {ts['test_mse']:.3f} (z-scored), MAE {ts['test_mae_units']:.1f} units",
               f"{ts['baseline']} MSE {ts['baseline_test_mse']:.3f}, MAE {ts['baseline_test_mae_units']:.1f}",
               time.time() - t))

  t = _step("sequences/text: category from title and description")
  tx = text_demo.run(root / "text", world_dir, export_root=export_root)
  rows.append((f"text {tx['model']}", f"accuracy {tx['accuracy']:.3f}",
               f"majority {tx['baseline_accuracy']:.3f}", time.time() - t))

  t = _step("recsys: two-tower recommender (image tower = the ResNet above)")
  rs = recsys_demo.run(str(root / "recsys"), str(world_dir), str(export_root),
                       vision_export=str(v.extras["export_dir"]))
  rows.append(("recommender (leave-last-out, full catalogue)", f"Recall@10 {rs['recall@10']:.3f}",
               f"co-occurrence {rs['baseline recall@10 (item co-occurrence)']:.3f}, "
               f"popular {rs['baseline recall@10 (most popular)']:.3f}", time.time() - t))

  _print_summary(rows)
  print()
  print(recsys_demo.table(rs))
  print(f"\nexports: {export_root}  (bazel run //tools:show_export -- {export_root}/recsys)")

  if _SERVE.value:
    _step("Recommendation API")
    api_demo.run(str(export_root), str(world_dir), _PORT.value, _REST_PORT.value)


if __name__ == "__main__":
  app.run(main)
