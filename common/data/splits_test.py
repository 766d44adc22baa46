"""splits: the Python and in-graph splits agree, and a key's split never changes."""

import random
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from common.data import splits


def test_fingerprint64_matches_tensorflow_for_every_length_path():
  # Lengths 0..200 cover all of FarmHash's branches (0-3, 4-7, 8-16, 17-32, 33-64, >64).
  rng = random.Random(0)
  data = [bytes(rng.randrange(256) for _ in range(n)) for n in range(201)]
  ours = [splits.fingerprint64(s) % (2**63 - 1) for s in data]
  theirs = tf.strings.to_hash_bucket_fast(data, 2**63 - 1).numpy().tolist()
  assert ours == theirs


def test_python_and_graph_splits_agree():
  keys = [f"user_{i}" for i in range(3000)] + ["", "é-ünïcode", "x" * 150]
  for name in splits.SPLITS:
    mask = splits.tf_split_mask(tf.constant(keys), name).numpy()
    assert mask.tolist() == [splits.split_of(k) == name for k in keys]


def test_integer_keys_hash_as_their_decimal_string():
  ids = np.arange(500, dtype=np.int64)
  mask = splits.tf_split_mask(ids, "test").numpy()
  assert mask.tolist() == [splits.split_of(int(i)) == "test" for i in ids]
  assert splits.split_of(42) == splits.split_of("42") == splits.split_of(b"42")


def test_fractions_are_met_and_splits_partition_the_keys():
  keys = [f"item-{i}" for i in range(20000)]
  counts = {s: 0 for s in splits.SPLITS}
  for k in keys:
    counts[splits.split_of(k, (0.7, 0.2, 0.1))] += 1
  assert abs(counts["train"] / 20000 - 0.7) < 0.015
  assert abs(counts["validation"] / 20000 - 0.2) < 0.015
  assert abs(counts["test"] / 20000 - 0.1) < 0.015
  masks = [splits.tf_split_mask(tf.constant(keys), s, (0.7, 0.2, 0.1)).numpy() for s in splits.SPLITS]
  assert (np.sum(masks, axis=0) == 1).all()  # every key in exactly one split


def test_split_does_not_depend_on_order_or_on_the_other_keys():
  keys = [f"k{i}" for i in range(1000)]
  before = {k: splits.split_of(k) for k in keys}
  shuffled = keys[:]
  random.Random(1).shuffle(shuffled)
  after = dict(zip(shuffled, splits.tf_split_mask(tf.constant(shuffled), "train").numpy(), strict=True))
  assert all((before[k] == "train") == bool(after[k]) for k in keys)


def test_split_is_stable_across_processes():
  # Python's hash() is salted per process; ours must not be.
  code = "from common.data import splits; print(','.join(splits.split_of(f'u{i}') for i in range(50)))"
  out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                       env={"PYTHONHASHSEED": "123", "PYTHONPATH": ":".join(sys.path)}).stdout.strip()
  assert out.split(",") == [splits.split_of(f"u{i}") for i in range(50)]


def test_pinned_values_do_not_drift():
  # Recorded once (and equal to tf.strings.to_hash_bucket_fast, checked above). If these change,
  # every dataset's train/test membership changes: that must never happen silently.
  assert splits.fingerprint64(b"") == 0x9AE16A3B2F90404F
  assert splits.fingerprint64(b"hello") == 0xB48BE5A931380CE8
  assert [splits.bucket_of(k) for k in ("a", "user_1", "item_00042")] == [3939, 5798, 6317]
  assert [splits.split_of(f"user_{i}") for i in range(1, 7)] == [
      "train", "train", "validation", "train", "validation", "validation"]


@pytest.mark.parametrize("fractions,match", [
    ((0.8, 0.2), "3 entries"),
    ((0.8, 0.3, 0.1), "sum to 1"),
    ((1.1, -0.1, 0.0), "non-negative"),
])
def test_bad_fractions_are_explained(fractions, match):
  with pytest.raises(ValueError, match=match):
    splits.split_of("x", fractions)


def test_bad_split_name_and_key_type_are_explained():
  with pytest.raises(ValueError, match="not one of"):
    splits.tf_split_mask(tf.constant(["a"]), "eval")
  with pytest.raises(TypeError, match="use a str, bytes or int"):
    splits.split_of(1.5)
  with pytest.raises(TypeError, match="strings or integers"):
    splits.tf_split_mask(tf.constant([1.0]), "train")
