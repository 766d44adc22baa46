"""Repeatable train/validation/test splits: a record's split is a pure function of its key.

A split decided by file order or by a random seed changes when someone re-shards the files,
appends records or reads them in another order, and records then leak between train and test.
Here the split of a record depends only on its key (a user id, an item id, a file name): the key
is hashed with FarmHash `Fingerprint64`, the hash TensorFlow uses in
`tf.strings.to_hash_bucket_fast`, into one of `NUM_BUCKETS` buckets, and the buckets are cut by
the fractions.

The same decision is available in two places that agree exactly (a test checks it):
`split_of(key)` in plain Python (data preparation, tools) and `tf_split_mask(keys, split)` inside
a `tf.data` pipeline or a SavedModel.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
  import tensorflow as tf

SPLITS = ("train", "validation", "test")
# Fine enough that fractions like 0.8/0.1/0.1 or 0.95/0.05 are met to 0.01%.
NUM_BUCKETS = 10_000

_MASK = 0xFFFFFFFFFFFFFFFF
_K0 = 0xC3A5C85C97CB3127
_K1 = 0xB492B66FBE98F273
_K2 = 0x9AE16A3B2F90404F


def _fetch64(s: bytes, i: int) -> int:
  return int.from_bytes(s[i:i + 8], "little")


def _fetch32(s: bytes, i: int) -> int:
  return int.from_bytes(s[i:i + 4], "little")


def _rotate(v: int, shift: int) -> int:
  return ((v >> shift) | (v << (64 - shift))) & _MASK if shift else v


def _shift_mix(v: int) -> int:
  return v ^ (v >> 47)


def _hash_len16(u: int, v: int, mul: int) -> int:
  a = ((u ^ v) * mul) & _MASK
  a ^= a >> 47
  b = ((v ^ a) * mul) & _MASK
  b ^= b >> 47
  return (b * mul) & _MASK


def _hash_len0to16(s: bytes) -> int:
  n = len(s)
  if n >= 8:
    mul = _K2 + n * 2
    a = (_fetch64(s, 0) + _K2) & _MASK
    b = _fetch64(s, n - 8)
    c = (_rotate(b, 37) * mul + a) & _MASK
    d = ((_rotate(a, 25) + b) * mul) & _MASK
    return _hash_len16(c, d, mul)
  if n >= 4:
    mul = _K2 + n * 2
    a = _fetch32(s, 0)
    return _hash_len16((n + (a << 3)) & _MASK, _fetch32(s, n - 4), mul)
  if n > 0:
    y = (s[0] + (s[n >> 1] << 8)) & 0xFFFFFFFF
    z = (n + (s[n - 1] << 2)) & 0xFFFFFFFF
    return (_shift_mix(((y * _K2) ^ (z * _K0)) & _MASK) * _K2) & _MASK
  return _K2


def _hash_len17to32(s: bytes) -> int:
  n = len(s)
  mul = _K2 + n * 2
  a = (_fetch64(s, 0) * _K1) & _MASK
  b = _fetch64(s, 8)
  c = (_fetch64(s, n - 8) * mul) & _MASK
  d = (_fetch64(s, n - 16) * _K2) & _MASK
  return _hash_len16((_rotate((a + b) & _MASK, 43) + _rotate(c, 30) + d) & _MASK,
                     (a + _rotate((b + _K2) & _MASK, 18) + c) & _MASK, mul)


def _hash_len33to64(s: bytes) -> int:
  n = len(s)
  mul = _K2 + n * 2
  a = (_fetch64(s, 0) * _K2) & _MASK
  b = _fetch64(s, 8)
  c = (_fetch64(s, n - 8) * mul) & _MASK
  d = (_fetch64(s, n - 16) * _K2) & _MASK
  y = (_rotate((a + b) & _MASK, 43) + _rotate(c, 30) + d) & _MASK
  z = _hash_len16(y, (a + _rotate((b + _K2) & _MASK, 18) + c) & _MASK, mul)
  e = (_fetch64(s, 16) * mul) & _MASK
  f = _fetch64(s, 24)
  g = ((y + _fetch64(s, n - 32)) * mul) & _MASK
  h = ((z + _fetch64(s, n - 24)) * mul) & _MASK
  return _hash_len16((_rotate((e + f) & _MASK, 43) + _rotate(g, 30) + h) & _MASK,
                     (e + _rotate((f + a) & _MASK, 18) + g) & _MASK, mul)


def _weak_hash_len32_with_seeds(s: bytes, i: int, a: int, b: int) -> tuple[int, int]:
  w, x, y, z = (_fetch64(s, i + k) for k in (0, 8, 16, 24))
  a = (a + w) & _MASK
  b = _rotate((b + a + z) & _MASK, 21)
  c = a
  a = (a + x + y) & _MASK
  b = (b + _rotate(a, 44)) & _MASK
  return (a + z) & _MASK, (b + c) & _MASK


def fingerprint64(data: bytes) -> int:
  """FarmHash `Fingerprint64` (farmhashna::Hash64) of `data`, as TensorFlow computes it.

  Pure Python so that data tools need no TensorFlow session; `splits_test` checks it against
  `tf.strings.to_hash_bucket_fast` for lengths 0..300.
  """
  s, n = data, len(data)
  if n <= 16:
    return _hash_len0to16(s)
  if n <= 32:
    return _hash_len17to32(s)
  if n <= 64:
    return _hash_len33to64(s)
  seed = 81
  x = seed
  y = (seed * _K1 + 113) & _MASK
  z = (_shift_mix((y * _K2 + 113) & _MASK) * _K2) & _MASK
  v = (0, 0)
  w = (0, 0)
  x = (x * _K2 + _fetch64(s, 0)) & _MASK
  end = ((n - 1) // 64) * 64
  last64 = end + ((n - 1) & 63) - 63
  i = 0
  while True:
    x = (_rotate((x + y + v[0] + _fetch64(s, i + 8)) & _MASK, 37) * _K1) & _MASK
    y = (_rotate((y + v[1] + _fetch64(s, i + 48)) & _MASK, 42) * _K1) & _MASK
    x ^= w[1]
    y = (y + v[0] + _fetch64(s, i + 40)) & _MASK
    z = (_rotate((z + w[0]) & _MASK, 33) * _K1) & _MASK
    v = _weak_hash_len32_with_seeds(s, i, (v[1] * _K1) & _MASK, (x + w[0]) & _MASK)
    w = _weak_hash_len32_with_seeds(s, i + 32, (z + w[1]) & _MASK, (y + _fetch64(s, i + 16)) & _MASK)
    z, x = x, z
    i += 64
    if i == end:
      break
  mul = _K1 + ((z & 0xFF) << 1)
  i = last64
  w = ((w[0] + ((n - 1) & 63)) & _MASK, w[1])
  v = ((v[0] + w[0]) & _MASK, v[1])
  w = ((w[0] + v[0]) & _MASK, w[1])
  x = (_rotate((x + y + v[0] + _fetch64(s, i + 8)) & _MASK, 37) * mul) & _MASK
  y = (_rotate((y + v[1] + _fetch64(s, i + 48)) & _MASK, 42) * mul) & _MASK
  x ^= (w[1] * 9) & _MASK
  y = (y + v[0] * 9 + _fetch64(s, i + 40)) & _MASK
  z = (_rotate((z + w[0]) & _MASK, 33) * mul) & _MASK
  v = _weak_hash_len32_with_seeds(s, i, (v[1] * mul) & _MASK, (x + w[0]) & _MASK)
  w = _weak_hash_len32_with_seeds(s, i + 32, (z + w[1]) & _MASK, (y + _fetch64(s, i + 16)) & _MASK)
  z, x = x, z
  return _hash_len16(
      (_hash_len16(v[0], w[0], mul) + _shift_mix(y) * _K0 + z) & _MASK,
      (_hash_len16(v[1], w[1], mul) + x) & _MASK, mul)


def _key_bytes(key) -> bytes:
  if isinstance(key, bytes):
    return key
  if isinstance(key, str):
    return key.encode("utf-8")
  if isinstance(key, (int,)) and not isinstance(key, bool):
    return str(key).encode("ascii")
  raise TypeError(
      f"split key {key!r} has type {type(key).__name__}; use a str, bytes or int id "
      "(the record's stable identifier, e.g. its user_id or file name)")


def _boundaries(fractions: Sequence[float]) -> list[int]:
  """Cumulative bucket boundaries, e.g. (0.8, 0.1, 0.1) -> [8000, 9000, 10000]."""
  if len(fractions) != len(SPLITS):
    raise ValueError(
        f"fractions={tuple(fractions)} must have {len(SPLITS)} entries, one per split {SPLITS}; "
        "use 0.0 for a split you do not need")
  if any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
    raise ValueError(
        f"fractions={tuple(fractions)} must be non-negative and sum to 1 "
        f"(they sum to {sum(fractions):.6g})")
  bounds, total = [], 0.0
  for f in fractions:
    total += f
    bounds.append(round(total * NUM_BUCKETS))
  bounds[-1] = NUM_BUCKETS
  return bounds


def bucket_of(key) -> int:
  """The hash bucket in [0, NUM_BUCKETS) of `key` (str keys are hashed as UTF-8)."""
  return fingerprint64(_key_bytes(key)) % NUM_BUCKETS


def split_of(key, fractions: Sequence[float] = (0.8, 0.1, 0.1)) -> str:
  """Which split ("train", "validation" or "test") the record with this key belongs to.

  Args:
    key: the record's stable identifier (str, bytes or int). An int is hashed as its decimal
      string, so `split_of(42) == split_of("42")`, as in the graph after `tf.strings.as_string`.
    fractions: the share of keys in train, validation and test; must sum to 1.

  Returns:
    The split name. The answer depends on nothing but `key` and `fractions`.
  """
  bucket = bucket_of(key)
  for name, bound in zip(SPLITS, _boundaries(fractions), strict=True):
    if bucket < bound:
      return name
  raise AssertionError("unreachable: the last boundary is NUM_BUCKETS")


def tf_split_mask(keys: "tf.Tensor", split: str,
                  fractions: Sequence[float] = (0.8, 0.1, 0.1)) -> "tf.Tensor":
  """In-graph `split_of`: a bool tensor, True where `keys` belong to `split`.

  Use it in `dataset.filter(lambda ex: splits.tf_split_mask(ex["user_id"], "train"))`.

  Args:
    keys: a string or integer tensor of any shape (integers are hashed as decimal strings).
    split: "train", "validation" or "test".
    fractions: as in `split_of`.

  Returns:
    A bool tensor shaped like `keys`.
  """
  # Imported here so that `split_of` (data tools, other processes) does not pay for TensorFlow.
  import tensorflow as tf

  if split not in SPLITS:
    raise ValueError(f"split={split!r} is not one of {SPLITS}")
  bounds = _boundaries(fractions)
  index = SPLITS.index(split)
  lower = 0 if index == 0 else bounds[index - 1]
  upper = bounds[index]
  keys = tf.convert_to_tensor(keys)
  if keys.dtype != tf.string:
    if not keys.dtype.is_integer:
      raise TypeError(f"split keys must be strings or integers, got a {keys.dtype.name} tensor")
    keys = tf.strings.as_string(keys)
  buckets = tf.strings.to_hash_bucket_fast(keys, NUM_BUCKETS)
  return tf.logical_and(buckets >= lower, buckets < upper)
