"""Model inputs for a batch of users: the one place online and batch scoring build them.

The recsys export takes each user's raw history (its signature contract, written in
`recsys/export.py` and in the export's metadata.json): item ids oldest first with their Unix
times, any number of them, "" entries being padding. The export itself keeps the last
`max_history` events and lays them out as training did, so neither the server nor batch scoring
holds a copy of the feature code and there is no skew to guard.

`Recommender` (online) and `tools/batch_predict` (offline) both call `query_inputs`, which stacks
a batch of histories into one rectangle, and both run the export's `recommend` signature on it,
so an offline answer is the online answer for the same history and request time. `max_history`
reads from the metadata how many recent events the export reads: how much stored history is
worth fetching, and which items the export counts as already seen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

PAD = ""  # a history entry that is not an event (the export drops it)


def max_history(metadata: Mapping, where: str = "the export") -> int:
  """How many recent events the export's query signatures read (`extra.max_history`).

  Raises:
    ValueError: the metadata does not state it (an export made before the recsys export took
      raw histories); the message says to re-export.
  """
  value = (metadata.get("extra") or {}).get("max_history")
  if not isinstance(value, int) or value < 1:
    raise ValueError(
        f"{where} does not state extra.max_history in its metadata.json (found {value!r}): it "
        "was exported before the recsys export took raw histories of any length; re-export it "
        "with `bazel run //recsys:export -- --workdir=RUN --export_root=ROOT`")
  return value


def query_inputs(user_ids: Sequence[str], histories: Sequence[Sequence[str]],
                 times: Sequence[Sequence[int]], now: Sequence[int]) -> dict[str, np.ndarray]:
  """The query inputs of `query_embedding`/`rank`/`recommend` for a batch of raw histories.

  Args:
    user_ids: [batch] user ids ("" for an anonymous session).
    histories: per user, item ids oldest first (any length).
    times: per user, one Unix time per history item.
    now: [batch] request times.

  Returns:
    {"user_id", "history_ids", "history_times", "timestamp"}: the histories as one [batch, n]
    rectangle (n the longest history), shorter rows padded on the right with "" and time 0.
  """
  width = max((len(h) for h in histories), default=0)
  ids = np.full((len(histories), width), PAD, dtype=object)
  stamps = np.zeros((len(histories), width), dtype=np.int64)
  for row, (history, history_times) in enumerate(zip(histories, times, strict=True)):
    if len(history) != len(history_times):
      raise ValueError(f"history {row} has {len(history)} items but {len(history_times)} times")
    ids[row, :len(history)] = list(history)
    stamps[row, :len(history)] = [int(t) for t in history_times]
  return {"user_id": np.array(list(user_ids), dtype=object), "history_ids": ids,
          "history_times": stamps, "timestamp": np.array(list(now), dtype=np.int64)}
