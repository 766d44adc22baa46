"""retrieval_bench's lines under the table, on tiny hand-made data: the text tower's gain and the
fairness slices (the full table needs MovieLens and two trainings: `bazel run //recsys:bench`)."""

import numpy as np

from recsys import metrics, retrieval_bench

USERS = {
    "1": {"age": "17", "gender": "M", "occupation": "student", "zip": "1"},
    "2": {"age": "24", "gender": "F", "occupation": "student", "zip": "2"},
    "3": {"age": "30", "gender": "F", "occupation": "writer", "zip": "3"},
    "4": {"age": "60", "gender": "M", "occupation": "retired", "zip": "4"},
}


def test_gain_lines_split_cold_items_and_measure_the_difference():
  # Targets x (3 training interactions: cold), y (never trained on: cold), z (50: warm), z.
  targets = np.array(["x", "y", "z", "z"], dtype=object)
  with_text = np.array([True, True, True, False])
  without = np.array([False, False, True, True])
  lines = retrieval_bench.gain_lines(targets, {"x": 3, "z": 50}, with_text, without)
  # Overall: (3 - 2) / 4 = +0.25 on 4 queries; cold items: (2 - 0) / 2 = +1.0 on 2 queries.
  assert lines[1].startswith("  overall: +0.250 (n=4;")
  assert lines[2].startswith(f"  {metrics.COLD_ITEMS}: +1.000 (n=2;")


def test_fairness_lines_report_each_group_for_each_model():
  user_ids = np.array(["1", "2", "3", "4"])
  lines = retrieval_bench.fairness_lines(
      USERS, user_ids, {"model": np.array([1, 0, 1, 1]), "co-occurrence": np.array([0, 0, 1, 0])})
  text = "\n".join(lines)
  assert "| group | users | model Recall@10 | co-occurrence Recall@10 |" in text
  # Gender F: users 2 and 3, model hits 0 and 1 -> 0.5; co-occurrence 0 and 1 -> 0.5.
  assert "| gender: F (small) | 2 | 0.500 | 0.500 |" in text
  assert "| occupation: student (small) | 2 | 0.500 | 0.000 |" in text
  assert "**age gap**" in text


def test_the_ablation_differs_from_the_movielens_config_only_in_content():
  with_text, without = retrieval_bench.configs(epochs=3)
  assert with_text.text_tower and not without.text_tower
  assert without.model.id_dropout == 0.0 and without.model.category_weight == 0.0
  assert with_text.epochs == without.epochs == 3
  assert with_text.model.embedding_dim == without.model.embedding_dim
  assert with_text.learning_rate == without.learning_rate
