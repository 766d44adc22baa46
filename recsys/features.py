"""The user's recent history as model input: one feature code for training and serving.

A query is "what this user did recently": the ids of their last `max_len` items, oldest
first, left-padded with "" to a fixed length, and when each happened. The model sees
how long ago each event was (log hours before the request), not raw timestamps, so a
history recorded today and one replayed from 1998 look alike.

`build_examples` turns an interaction table into (history, target) training rows with
NumPy; `history_inputs` is the in-graph half that the exported signatures and the
training model both call, so the served model computes exactly what training computed
(no training–serving skew). `history_window` is the in-graph `pad_history`: the export
applies it to the raw history a caller sends (any length, "" entries ignored), so no
server or client needs this module to build the model's input.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from recsys.data.interactions import Interactions

PAD = ""
PAD_INDEX = -1  # PAD once the ids are ints (recsys.models Recommender.encode_ids)


@dataclasses.dataclass(frozen=True)
class Examples:
  """Training/evaluation rows: the history before an event and the event itself."""

  user_id: np.ndarray  # [n] str
  history_ids: np.ndarray  # [n, max_len] str, oldest first, left-padded with PAD
  history_times: np.ndarray  # [n, max_len] int64 seconds (0 where padded)
  item_id: np.ndarray  # [n] str, the target
  timestamp: np.ndarray  # [n] int64, the request time
  rating: np.ndarray | None  # [n] float32

  def __len__(self) -> int:
    return len(self.item_id)

  def as_dict(self) -> dict[str, np.ndarray]:
    d = {"user_id": self.user_id.astype(str), "history_ids": self.history_ids.astype(str),
         "history_times": self.history_times, "item_id": self.item_id.astype(str),
         "timestamp": self.timestamp}
    if self.rating is not None:
      d["rating"] = self.rating
    return d


def pad_history(item_ids: list[str], times: list[int], max_len: int) -> tuple[np.ndarray, np.ndarray]:
  """The last `max_len` events, oldest first, left-padded: the layout every model input uses."""
  item_ids, times = list(item_ids)[-max_len:], list(times)[-max_len:]
  pad = max_len - len(item_ids)
  return (np.array([PAD] * pad + item_ids, dtype=object),
          np.array([0] * pad + [int(t) for t in times], dtype=np.int64))


def build_examples(targets: Interactions, max_len: int, context: Interactions | None = None,
                   min_history: int = 1) -> Examples:
  """One example per row of `targets`, its history taken from earlier events of the same user.

  Args:
    targets: the events to predict.
    max_len: history length kept (most recent events).
    context: events that may appear in histories besides `targets` themselves (e.g. the
      training events when building test examples). Only events strictly before a target
      (ties broken by item id) enter its history, so nothing from the future leaks in.
    min_history: targets with fewer earlier events are dropped.
  """
  events = targets if context is None else _concat(context, targets)
  is_target = np.r_[np.zeros(len(events) - len(targets), bool), np.ones(len(targets), bool)]
  order = np.lexsort((events.item_id, events.timestamp, events.user_id))
  ev = events.take(order)
  is_target = is_target[order]
  users, hist_ids, hist_times, items, times, ratings = [], [], [], [], [], []
  start = 0
  n = len(ev)
  while start < n:
    end = start
    while end < n and ev.user_id[end] == ev.user_id[start]:
      end += 1
    for i in range(start, end):
      if is_target[i] and i - start >= min_history:
        ids, ts = pad_history(ev.item_id[max(start, i - max_len):i], ev.timestamp[max(start, i - max_len):i], max_len)
        users.append(ev.user_id[i])
        hist_ids.append(ids)
        hist_times.append(ts)
        items.append(ev.item_id[i])
        times.append(ev.timestamp[i])
        if ev.rating is not None:
          ratings.append(ev.rating[i])
    start = end
  return Examples(
      user_id=np.array(users, dtype=object),
      history_ids=np.array(hist_ids, dtype=object).reshape(-1, max_len),
      history_times=np.array(hist_times, dtype=np.int64).reshape(-1, max_len),
      item_id=np.array(items, dtype=object), timestamp=np.array(times, dtype=np.int64),
      rating=np.array(ratings, dtype=np.float32) if ev.rating is not None else None)


def _concat(a: Interactions, b: Interactions) -> Interactions:
  rating = None
  if a.rating is not None and b.rating is not None:
    rating = np.concatenate([a.rating, b.rating])
  return Interactions(np.concatenate([a.user_id, b.user_id]), np.concatenate([a.item_id, b.item_id]),
                      np.concatenate([a.timestamp, b.timestamp]), rating)


def history_inputs(history_ids: tf.Tensor, history_times: tf.Tensor, now: tf.Tensor) -> dict[str, tf.Tensor]:
  """In-graph features of a padded history.

  Args:
    history_ids: [batch, max_len] string, oldest first, "" where padded (or int64 ids from
      `Recommender.encode_ids`, PAD_INDEX where padded).
    history_times: [batch, max_len] int64 seconds.
    now: [batch] int64 request time in seconds.

  Returns:
    {"ids": the ids, "mask": [batch, max_len] bool (real events),
     "gap_seconds": [batch, max_len] float32 seconds before `now` (0 where padded),
     "log_age_hours": log1p(gap in hours)}.
  """
  mask = tf.not_equal(history_ids, PAD if history_ids.dtype == tf.string else PAD_INDEX)
  gap = tf.cast(tf.maximum(now[:, None] - history_times, 0), tf.float32)
  gap = tf.where(mask, gap, tf.zeros_like(gap))
  return {"ids": history_ids, "mask": mask, "gap_seconds": gap,
          "log_age_hours": tf.math.log1p(gap / 3600.0)}


def history_window(history_ids: tf.Tensor, history_times: tf.Tensor,
                   max_len: int) -> tuple[tf.Tensor, tf.Tensor]:
  """In-graph `pad_history` for a batch of raw histories: what the exported signatures run first.

  Args:
    history_ids: [batch, n] string, any n (0 too): each row's item ids, oldest first. "" entries
      are not events (a batch of unequal histories is padded to one width with "", on any side)
      and are dropped.
    history_times: [batch, n] int64 Unix seconds, one per entry of `history_ids`.
    max_len: the model's history length.

  Returns:
    ([batch, max_len] ids, [batch, max_len] times): the last `max_len` events of each row, oldest
    first, left-padded with PAD and time 0, exactly as `pad_history` lays them out for training.
  """
  keep = tf.not_equal(history_ids, PAD)
  n = tf.reduce_sum(tf.cast(keep, tf.int64), axis=1)  # events per row
  starts = tf.cumsum(n, exclusive=True)  # where each row's events start in the flat list
  # The flat list of every row's events, then one padding entry that empty columns point at.
  flat_ids = tf.concat([tf.boolean_mask(history_ids, keep), [PAD]], 0)
  flat_times = tf.concat([tf.boolean_mask(history_times, keep), tf.zeros([1], history_times.dtype)], 0)
  pad_index = tf.shape(flat_ids, out_type=tf.int64)[0] - 1
  # Column c of a row holds its event number n - max_len + c (0-based), when that is >= 0.
  col = tf.range(max_len, dtype=tf.int64)[None, :]
  index = tf.where(col >= tf.maximum(max_len - n, 0)[:, None],
                   starts[:, None] + n[:, None] - max_len + col, pad_index)
  return tf.gather(flat_ids, index), tf.gather(flat_times, index)
