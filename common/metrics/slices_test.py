"""Per-slice metrics and the text table."""

import math

import numpy as np
import pytest

from common.metrics import ranking, regression, slices

Y = np.array([1.0, 2.0, 3.0, 4.0])
P = np.array([1.0, 2.0, 5.0, 0.0])
KEYS = ["a", "a", "b", "b"]
# slice a: errors [0, 0] -> MAE 0; slice b: errors [2, 4] -> MAE 3; overall MAE 6/4 = 1.5


def test_per_slice_and_counts_by_hand():
  assert slices.per_slice(regression.mae, Y, P, KEYS) == {"a": 0.0, "b": 3.0}
  assert slices.counts(KEYS) == {"a": 2, "b": 2}


def test_small_slices_are_nan():
  result = slices.per_slice(regression.mae, Y, P, ["a", "a", "a", "b"], min_count=2)
  assert result["a"] == pytest.approx(2 / 3) and math.isnan(result["b"])


def test_ranking_metrics_slice_over_lists():
  ranked = np.array([[1, 2], [3, 1], [0, 2]])
  relevant = [{1}, {0}, {2}]  # recall@2 per user: 1, 0, 1
  by_activity = slices.per_slice(lambda rel, r: ranking.recall_at_k(r, rel, 2), relevant, ranked,
                                 ["heavy", "light", "light"])
  assert by_activity == {"heavy": 1.0, "light": 0.5}


def test_evaluate_has_overall_row_first_and_counts():
  rows = slices.evaluate({"mae": regression.mae, "rmse": regression.rmse}, Y, P, KEYS)
  assert list(rows) == ["all", "a", "b"]
  assert rows["all"] == {"count": 4, "mae": 1.5, "rmse": pytest.approx(math.sqrt(20 / 4))}
  assert rows["b"]["count"] == 2 and rows["b"]["rmse"] == pytest.approx(math.sqrt(10))


def test_format_table_aligns_and_adds_ratio_columns():
  rows = {"all": {"count": 4, "model": 0.5, "baseline": 2.0},
          "b": {"count": 2, "model": float("nan"), "baseline": 0.0},
          "c": {"count": 1, "model": "n/a", "baseline": "majority"}}
  text = slices.format_table(rows, ratios=[("model", "baseline")], title="test", digits=2)
  assert text.splitlines() == [
      "test",
      "slice  count  model  baseline  model/baseline",
      "all        4   0.50      2.00            0.25",
      "b          2      —      0.00               —",
      "c          1    n/a  majority               —",
  ]


def test_bucketize_labels():
  labels = slices.bucketize([5, 10, 50, 100, 1000], [10, 100])
  assert labels.tolist() == ["<10", "[10, 100)", "[10, 100)", ">=100", ">=100"]
  with pytest.raises(ValueError, match="strictly increasing"):
    slices.bucketize([1], [10, 5])


def test_bad_inputs():
  with pytest.raises(ValueError, match=r"one key per example \(4\)"):
    slices.per_slice(regression.mae, Y, P, ["a"])
  with pytest.raises(ValueError, match="4 examples but y_pred has 3"):
    slices.per_slice(regression.mae, Y, P[:3], KEYS)
