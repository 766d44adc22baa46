"""The bench on a user's dataset: a cp1252 one-file-per-class folder, 10 stratified folds."""

import numpy as np
from absl import flags

from sequences.text import bench

POSITIVE = ["wonderful", "superb", "charming", "delight", "moving", "clever"]
NEGATIVE = ["dull", "boring", "awful", "tedious", "clumsy", "bland"]


def _write_polarity_folder(root):
  rng = np.random.default_rng(0)
  root.mkdir()
  for name, words in (("pos", POSITIVE), ("neg", NEGATIVE)):
    lines = [" ".join(rng.choice(words, 2)) + " film \u2014 a story" for _ in range(20)]
    (root / f"{name}.txt").write_bytes("\n".join(lines).encode("cp1252"))  # 0x97 dashes


def test_bench_runs_ten_fold_cv_on_a_cp1252_class_files_folder(tmp_path, capsys):
  _write_polarity_folder(tmp_path / "reviews")
  flags.FLAGS(["bench", f"--dataset={tmp_path / 'reviews'}", "--folds=10", "--encoding=cp1252",
               "--models=FastText", "--epochs=1", "--classic_steps=20"])
  try:
    bench.main(["bench"])
  finally:
    flags.FLAGS.unparse_flags()
  out = capsys.readouterr().out
  title = next(line for line in out.splitlines() if line.startswith("reviews (40 texts"))
  assert "stratified 10-fold CV" in title
  header = next(line for line in out.splitlines() if line.startswith("model "))
  columns = header.split()[1:]
  table = {}
  for line in out.splitlines()[out.splitlines().index(header) + 1:]:
    if line.split() and line.split()[0] in ("Majority", "NBSVM", "TfidfLogistic", "FastText",
                                            "Ensemble"):
      table[line.split()[0]] = dict(zip(columns, map(float, line.split()[-len(columns):]),
                                                    strict=True))
  assert set(table) == {"Majority", "NBSVM", "TfidfLogistic", "FastText", "Ensemble"}
  assert table["Majority"]["cv_acc"] == 0.5
  # The words separate the classes perfectly: the n-gram baselines must find that, and the
  # ensemble's difference to the best of them is reported in points.
  assert max(table["NBSVM"]["cv_acc"], table["TfidfLogistic"]["cv_acc"]) >= 0.9
  assert table["Majority"]["vs_best_classic"] <= -40.0
