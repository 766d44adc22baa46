"""History features: the past of each event only, padded the way serving pads."""

import numpy as np
import tensorflow as tf

from recsys import features
from recsys.data.interactions import Interactions


def test_build_examples_uses_only_earlier_events_oldest_first():
  t = Interactions(np.array(["u"] * 4, dtype=object), np.array(["a", "b", "c", "d"], dtype=object),
                   np.array([1, 2, 3, 4]))
  ex = features.build_examples(t, max_len=3)
  # Targets b, c, d (a has no history). d's history: a b c; c's: "" a b.
  assert list(ex.item_id) == ["b", "c", "d"]
  assert ex.history_ids.tolist() == [["", "", "a"], ["", "a", "b"], ["a", "b", "c"]]
  assert ex.history_times.tolist() == [[0, 0, 1], [0, 1, 2], [1, 2, 3]]


def test_build_examples_with_context_keeps_test_targets_out_of_histories_of_earlier_events():
  train = Interactions(np.array(["u", "u"], dtype=object), np.array(["a", "b"], dtype=object),
                       np.array([1, 2]))
  test = Interactions(np.array(["u"], dtype=object), np.array(["z"], dtype=object), np.array([3]))
  ex = features.build_examples(test, max_len=4, context=train)
  assert list(ex.item_id) == ["z"]
  assert ex.history_ids.tolist() == [["", "", "a", "b"]]


def test_history_inputs_masks_padding_and_measures_age_in_log_hours():
  ids = tf.constant([["", "a", "b"]])
  times = tf.constant([[0, 0, 3600 * 3]], tf.int64)
  out = features.history_inputs(ids, times, tf.constant([3600 * 4], tf.int64))
  assert out["mask"].numpy().tolist() == [[False, True, True]]
  # a: 4 hours ago -> log1p(4); b: 1 hour ago -> log1p(1); padding -> 0.
  np.testing.assert_allclose(out["log_age_hours"].numpy(), [[0.0, np.log1p(4.0), np.log1p(1.0)]], rtol=1e-6)
  np.testing.assert_allclose(out["gap_seconds"].numpy(), [[0.0, 4 * 3600.0, 3600.0]])


def test_pad_history_keeps_the_most_recent():
  ids, ts = features.pad_history(["a", "b", "c"], [1, 2, 3], max_len=2)
  assert ids.tolist() == ["b", "c"] and ts.tolist() == [2, 3]
