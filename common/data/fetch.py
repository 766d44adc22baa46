"""Downloads real datasets into the data directory and verifies every file's sha256.

    bazel run //common/data:fetch -- ett ml-100k ag_news [--data_dir=/path]
    bazel run //common/data:fetch -- --list

Without network access it says which files to place where; placed files are verified the same way.
"""

import pathlib

from absl import app, flags

from common.data import data_dir, datasets, download

FLAGS = flags.FLAGS
data_dir.define_flag()
flags.DEFINE_bool("list", False, "List the known datasets and whether they are present.")


def status(root: pathlib.Path) -> str:
  """One line per dataset: name, files present, homepage."""
  lines = []
  for name, dataset in sorted(datasets.DATASETS.items()):
    present = sum((root / name / f).is_file() for f in dataset.checksums)
    lines.append(f"{name:<10} {present}/{len(dataset.checksums)} files in {root / name}   "
                 f"{dataset.homepage}" + (f"  ({dataset.note})" if dataset.note else ""))
  return "\n".join(lines)


def main(argv):
  names = argv[1:]
  root = data_dir.resolve(FLAGS.data_dir, must_exist=False)
  if FLAGS.list or not names:
    print(status(root))
    if not names:
      print(f"\nusage: {datasets.fetch_command('<dataset> [...]')}")
    return
  for name in names:
    try:
      datasets.get(name)
    except KeyError as e:
      raise app.UsageError(str(e)) from e
  for name in names:
    try:
      paths = datasets.fetch(name, root)
    except (download.DownloadError, download.ChecksumError) as e:
      raise SystemExit(f"error: {e}") from e
    print(f"{name}: {len(paths)} files verified in {root / name}")


if __name__ == "__main__":
  app.run(main)
