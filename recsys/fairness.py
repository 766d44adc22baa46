"""Quality per group of users: who the recommender serves well, and who it fails.

An average over all users hides a model that works for the majority and fails a minority.
So the bench reports each metric per value of the users' demographic attributes (MovieLens
100K's `u.user`: age, gender, occupation) and the **gap**, the best group's figure minus the
worst group's, for the model and for its strongest baseline. A model whose gap is no wider
than the baseline's treats the groups no more unevenly than the simplest thing that works.

Small groups make noisy figures (with leave-last-out there is one query per user, and
MovieLens has 7 doctors), so each group carries its size `n`, and the gap is taken over groups
of at least `min_n` users; smaller groups are listed but left out of the gap.

    groups = fairness.user_groups(movielens.load_users(data_dir))
    per_user_hit = ranks < 10                            # one value per query, in query order
    report = fairness.by_group(groups, user_ids, per_user_hit)   # attribute -> group -> Group
    fairness.gap(report["age"])                          # best - worst mean, groups with n >= 20

RMSE is not a mean of per-row values: pass squared errors and `root=True`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

ATTRIBUTES = ("age", "gender", "occupation")
# Age bands of MovieLens 1M's u.user coding (the field's usual bands), applied to 100K's ages.
AGE_BANDS = ((0, 18, "under 18"), (18, 25, "18-24"), (25, 35, "25-34"), (35, 45, "35-44"),
             (45, 50, "45-49"), (50, 56, "50-55"), (56, 200, "56+"))
MIN_GROUP = 20  # users a group needs to count in the gap


@dataclasses.dataclass(frozen=True)
class Group:
  value: float  # mean of the per-row values (or the root of that mean, for RMSE)
  n: int        # rows (queries or ratings) in the group
  users: int    # distinct users among them


def age_band(age: int) -> str:
  for lo, hi, label in AGE_BANDS:
    if lo <= age < hi:
      return label
  raise ValueError(f"age {age} is outside 0-199; u.user's age column holds whole years")


def user_groups(users: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
  """attribute -> {user_id: group}, from `movielens.load_users`'s records.

  Raises:
    ValueError: a record lacks an attribute, or its age is not a whole number.
  """
  groups: dict[str, dict[str, str]] = {a: {} for a in ATTRIBUTES}
  for uid, record in users.items():
    missing = [a for a in ATTRIBUTES if a not in record]
    if missing:
      raise ValueError(f"user {uid!r} has no {', '.join(missing)}: fairness slices need u.user's "
                       f"age, gender and occupation columns for every user")
    try:
      age = int(record["age"])
    except ValueError:
      raise ValueError(f"user {uid!r} has age {record['age']!r}; u.user's age must be whole years") from None
    groups["age"][uid] = age_band(age)
    groups["gender"][uid] = record["gender"]
    groups["occupation"][uid] = record["occupation"]
  return groups


def by_group(groups: Mapping[str, Mapping[str, str]], user_ids: np.ndarray, values: np.ndarray,
             root: bool = False) -> dict[str, dict[str, Group]]:
  """attribute -> group -> Group: the mean of `values` over each group's rows.

  Args:
    groups: `user_groups`' output.
    user_ids: the user of each row.
    values: one number per row (a hit, an NDCG, a squared error).
    root: take the square root of each group's mean (RMSE from squared errors).

  Raises:
    ValueError: lengths differ, or a row's user has no group (unknown to u.user).
  """
  user_ids = np.asarray(user_ids).astype(str)
  values = np.asarray(values, dtype=np.float64)
  if user_ids.shape != values.shape:
    raise ValueError(f"{len(user_ids)} user ids for {len(values)} values: pass one user per row")
  report = {}
  for attribute, of_user in groups.items():
    unknown = sorted(set(user_ids) - set(of_user))
    if unknown:
      raise ValueError(f"{len(unknown)} users have no {attribute} (first: {unknown[0]!r}): the rows "
                       "must come from the same users file the groups were read from")
    labels = np.array([of_user[u] for u in user_ids], dtype=object)
    report[attribute] = {}
    for label in sorted(set(labels)):
      sel = labels == label
      mean = float(values[sel].mean())
      report[attribute][label] = Group(float(np.sqrt(mean)) if root else mean, int(sel.sum()),
                                       len(set(user_ids[sel])))
  return report


def gap(per_group: Mapping[str, Group], min_n: int = MIN_GROUP) -> tuple[float, str, str]:
  """(best - worst value, best group, worst group) over groups with at least `min_n` users.

  "Best" is the highest value: for an error (RMSE) the gap is the same number, read as worst -
  best. NaN and empty names when fewer than two groups are large enough.
  """
  large = {k: g for k, g in per_group.items() if g.users >= min_n}
  if len(large) < 2:
    return float("nan"), "", ""
  hi = max(large, key=lambda k: large[k].value)
  lo = min(large, key=lambda k: large[k].value)
  return large[hi].value - large[lo].value, hi, lo


def table(metric: str, reports: Mapping[str, Mapping[str, Mapping[str, Group]]],
          min_n: int = MIN_GROUP) -> list[str]:
  """Markdown lines: one row per attribute group, one column per model, then each model's gap.

  Args:
    metric: the column header's metric name ("Recall@10", "RMSE").
    reports: model name -> `by_group` output, all over the same users.
  """
  models = list(reports)
  first = reports[models[0]]
  lines = ["| group | users | " + " | ".join(f"{m} {metric}" for m in models) + " |",
           "|---|---:|" + "---:|" * len(models)]
  for attribute in first:
    for label, g in first[attribute].items():
      small = "" if g.users >= min_n else " (small)"
      cells = " | ".join(f"{reports[m][attribute][label].value:.3f}" for m in models)
      lines.append(f"| {attribute}: {label}{small} | {g.users} | {cells} |")
    gaps = [gap(reports[m][attribute], min_n) for m in models]
    cells = " | ".join(f"{d:.3f} ({hi} vs {lo})" for d, hi, lo in gaps)
    lines.append(f"| **{attribute} gap** (groups of >= {min_n} users) | | {cells} |")
  return lines
