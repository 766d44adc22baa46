"""Generates the synthetic shop world and prints what it made.

    bazel run //common/shopworld:generate -- --out_dir=/tmp/world --seed=0 --size=small
"""

import sys
import time

from absl import app, flags

from common.shopworld import world

FLAGS = flags.FLAGS
flags.DEFINE_string("out_dir", None, "Directory to write the world into.", required=True)
flags.DEFINE_integer("seed", 0, "Random seed; the same seed writes the same bytes.")
flags.DEFINE_enum("size", "small", sorted(world.SIZES), "How big a world to generate.")
flags.DEFINE_bool("overwrite", False, "Replace a world already in --out_dir.")


def format_summary(summary: dict, seconds_generate: float, seconds_write: float,
                   out_dir: str) -> str:
  """The human-readable report printed at the end."""
  lines = [
      f"shop world  seed={summary['seed']}  size={summary['size']}  -> {out_dir}",
      f"  generated in {seconds_generate:.1f} s, written in {seconds_write:.1f} s",
      f"  {summary['items']:>7,} items        items.csv, images/<category>/*.png, images.tfrecord",
      f"  {summary['users']:>7,} users        users.csv",
      f"  {summary['interactions']:>7,} interactions interactions.csv  "
      f"({summary['interactions_from']} .. {summary['interactions_to']}, "
      f"mean rating {summary['mean_rating']:.2f})",
      f"  {summary['days']:>7,} days         demand.csv  ({summary['demand_from']} .. "
      f"{summary['demand_to']}), {summary['promotions']} promotions in promotions.csv",
      f"  {len(summary['categories']):>7} categories:",
  ]
  for name, count in zip(summary["categories"], summary["items_per_category"], strict=True):
    lines.append(f"      {name:<12} {count:>6,} items")
  lines.append("  ground truth (tastes, popularity, demand parameters): truth.json")
  return "\n".join(lines)


def main(argv):
  del argv
  start = time.perf_counter()
  w = world.generate(FLAGS.seed, FLAGS.size, progress=sys.stderr.isatty())
  generated = time.perf_counter()
  try:
    out = w.write(FLAGS.out_dir, overwrite=FLAGS.overwrite, progress=sys.stderr.isatty())
  except FileExistsError as e:
    raise app.UsageError(str(e)) from e
  written = time.perf_counter()
  print(format_summary(w.summary(), generated - start, written - generated, str(out)))


if __name__ == "__main__":
  app.run(main)
