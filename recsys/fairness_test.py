"""recsys.fairness: groups from u.user records, per-group means, RMSE, gaps, clear errors."""

import numpy as np
import pytest

from recsys import fairness

USERS = {
    "1": {"age": "17", "gender": "M", "occupation": "student", "zip": "1"},
    "2": {"age": "24", "gender": "F", "occupation": "student", "zip": "2"},
    "3": {"age": "30", "gender": "F", "occupation": "writer", "zip": "3"},
    "4": {"age": "60", "gender": "M", "occupation": "retired", "zip": "4"},
}


def test_user_groups_bands_ages_and_copies_gender_and_occupation():
  groups = fairness.user_groups(USERS)
  assert groups["age"] == {"1": "under 18", "2": "18-24", "3": "25-34", "4": "56+"}
  assert groups["gender"]["3"] == "F"
  assert groups["occupation"]["4"] == "retired"


def test_age_band_edges_follow_movielens_1m_coding():
  assert [fairness.age_band(a) for a in (17, 18, 24, 25, 49, 50, 55, 56)] == [
      "under 18", "18-24", "18-24", "25-34", "45-49", "50-55", "50-55", "56+"]


def test_by_group_means_per_group_and_counts_users():
  groups = fairness.user_groups(USERS)
  report = fairness.by_group(groups, np.array(["1", "2", "2", "3", "4"]), np.array([1, 0, 1, 1, 0]))
  assert report["gender"]["M"] == fairness.Group(0.5, 2, 2)
  assert report["gender"]["F"] == fairness.Group(2 / 3, 3, 2)
  assert report["occupation"]["student"].value == pytest.approx(2 / 3)


def test_by_group_root_gives_rmse_from_squared_errors():
  groups = fairness.user_groups(USERS)
  errors = np.array([1.0, -3.0, 2.0])
  report = fairness.by_group(groups, np.array(["1", "4", "3"]), errors ** 2, root=True)
  assert report["gender"]["M"].value == pytest.approx(np.sqrt(5.0))
  assert report["gender"]["F"].value == pytest.approx(2.0)


def test_gap_leaves_out_small_groups_and_names_best_and_worst():
  per = {"a": fairness.Group(0.9, 5, 5), "b": fairness.Group(0.5, 30, 30),
         "c": fairness.Group(0.2, 40, 40), "d": fairness.Group(0.4, 25, 25)}
  d, hi, lo = fairness.gap(per, min_n=20)
  assert (round(d, 6), hi, lo) == (0.3, "b", "c")
  d, hi, lo = fairness.gap(per, min_n=35)
  assert np.isnan(d) and hi == lo == ""


def test_table_has_a_row_per_group_and_a_gap_row_per_attribute():
  groups = fairness.user_groups(USERS)
  ids = np.array(["1", "2", "3", "4"])
  reports = {"model": fairness.by_group(groups, ids, np.array([1, 1, 0, 0])),
             "baseline": fairness.by_group(groups, ids, np.array([0, 1, 0, 1]))}
  lines = fairness.table("Recall@10", reports, min_n=1)
  assert lines[0] == "| group | users | model Recall@10 | baseline Recall@10 |"
  assert "| gender: F | 2 | 0.500 | 0.500 |" in lines
  assert "| occupation: retired | 1 | 0.000 | 1.000 |" in lines
  gender_gap = next(line for line in lines if line.startswith("| **gender gap**"))
  assert gender_gap == "| **gender gap** (groups of >= 1 users) | | 0.000 (F vs F) | 0.000 (F vs F) |"
  assert sum(line.startswith("| **") for line in lines) == 3


@pytest.mark.parametrize("record, match", [
    ({"age": "20", "gender": "M"}, "has no occupation"),
    ({"age": "twenty", "gender": "M", "occupation": "x"}, "whole years"),
])
def test_bad_user_records_name_the_user_and_the_fix(record, match):
  with pytest.raises(ValueError, match=match):
    fairness.user_groups({"7": record})


def test_rows_from_unknown_users_or_unequal_lengths_are_errors():
  groups = fairness.user_groups(USERS)
  with pytest.raises(ValueError, match="users have no age"):
    fairness.by_group(groups, np.array(["99"]), np.array([1.0]))
  with pytest.raises(ValueError, match="one user per row"):
    fairness.by_group(groups, np.array(["1", "2"]), np.array([1.0]))
