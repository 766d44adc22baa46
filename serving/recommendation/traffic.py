"""Version labels and the canary split, as TensorFlow Serving's version labels.

A `TrafficSplit` maps the labels `stable` and `canary` to loaded versions and sends
`canary_share` of users to the canary. The choice is a hash of the user id (not a
coin flip per request), so a user sees one version for the whole experiment and
their metrics are attributable. Anonymous requests (no user id) go to `stable`.
A request naming a version or a label bypasses the split.
"""

from __future__ import annotations

import dataclasses
import hashlib

from serving.core import errors

LABELS = ("stable", "canary")


def user_bucket(user_id: str) -> float:
  """A stable number in [0, 1) for a user: the first 8 bytes of its SHA-256."""
  digest = hashlib.sha256(user_id.encode()).digest()
  return int.from_bytes(digest[:8], "big") / 2**64


@dataclasses.dataclass(frozen=True)
class TrafficSplit:
  """stable/canary versions (None = the newest available) and the canary's share of users."""

  stable: int | None = None
  canary: int | None = None
  canary_share: float = 0.0

  def __post_init__(self):
    if not 0.0 <= self.canary_share <= 1.0:
      raise ValueError(f"canary_share must be in [0, 1], got {self.canary_share}")
    if self.canary_share > 0 and self.canary is None:
      raise ValueError("canary_share > 0 needs a canary version (--labels=canary=<version>)")

  @classmethod
  def parse(cls, labels: str, canary_share: float = 0.0) -> TrafficSplit:
    """From `stable=1,canary=2` (TF Serving's `version_labels` as a flag)."""
    versions = {}
    for part in filter(None, (p.strip() for p in labels.split(","))):
      label, _, version = part.partition("=")
      if label not in LABELS or not version.isdigit():
        raise ValueError(f"bad version label {part!r}: expected stable=<int> or canary=<int>, "
                         "e.g. --labels=stable=1,canary=2")
      versions[label] = int(version)
    return cls(versions.get("stable"), versions.get("canary"), canary_share)

  def label_version(self, label: str) -> int | None:
    if label not in LABELS:
      raise errors.invalid_argument(f"unknown version label {label!r}; labels are {list(LABELS)}")
    version = getattr(self, label)
    if label == "canary" and version is None:
      raise errors.not_found("no version is labelled 'canary' (start the server with "
                             "--labels=canary=<version>)")
    return version

  def pick(self, user_id: str, version: int = 0, label: str = "") -> tuple[int | None, str]:
    """(version or None for newest, the label that chose it) for one request."""
    if version:
      return version, ""
    if label:
      return self.label_version(label), label
    if self.canary is not None and user_id and user_bucket(user_id) < self.canary_share:
      return self.canary, "canary"
    return self.stable, "stable"
