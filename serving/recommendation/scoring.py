"""Model inputs for a batch of users: the one place online and batch scoring build them.

`Recommender` (online) and `tools/batch_predict` (offline) both call `query_inputs`,
which pads each history with `recsys.features.pad_history` (the training code), and
both run the export's `recommend` signature on the result, so an offline answer is
the online answer for the same history and request time.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recsys import features


def query_inputs(user_ids: Sequence[str], histories: Sequence[Sequence[str]],
                 times: Sequence[Sequence[int]], now: Sequence[int], max_history: int
                 ) -> dict[str, np.ndarray]:
  """The `query_embedding`/`recommend` inputs for a batch (oldest-first histories)."""
  padded = [features.pad_history(h, t, max_history) for h, t in zip(histories, times, strict=True)]
  return {"user_id": np.array(list(user_ids), dtype=object),
          "history_ids": np.stack([p[0] for p in padded]).astype(object),
          "history_times": np.stack([p[1] for p in padded]).astype(np.int64),
          "timestamp": np.array(list(now), dtype=np.int64)}
