"""Labels resolve and the canary split is sticky per user and close to its share."""

import pytest

from serving.core import errors
from serving.recommendation.traffic import TrafficSplit, user_bucket


def test_parse_and_pick():
  split = TrafficSplit.parse("stable=1,canary=2", 0.25)
  assert split.pick("u", version=7) == (7, "")
  assert split.pick("u", label="canary") == (2, "canary")
  assert split.pick("", label="") == (1, "stable")  # anonymous -> stable
  users = [f"user_{i}" for i in range(4000)]
  picks = [split.pick(u)[1] for u in users]
  assert picks == [split.pick(u)[1] for u in users]  # sticky
  share = picks.count("canary") / len(users)
  assert abs(share - 0.25) < 3 * (0.25 * 0.75 / len(users)) ** 0.5  # within 3 sigma
  assert all(0 <= user_bucket(u) < 1 for u in users[:10])


def test_bad_labels_are_explained():
  with pytest.raises(ValueError, match="expected stable=<int> or canary=<int>"):
    TrafficSplit.parse("beta=2")
  with pytest.raises(ValueError, match="needs a canary version"):
    TrafficSplit(canary_share=0.1)
  with pytest.raises(ValueError, match=r"canary_share must be in \[0, 1\]"):
    TrafficSplit(canary=2, canary_share=1.5)
  with pytest.raises(errors.ServingError, match="no version is labelled 'canary'"):
    TrafficSplit().pick("u", label="canary")
  with pytest.raises(errors.ServingError, match="unknown version label"):
    TrafficSplit().pick("u", label="beta")
