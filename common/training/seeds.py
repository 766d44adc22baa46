"""Seeds for reproducible training.

`set_all(seed)` seeds Python's `random`, NumPy and TensorFlow in one call, so two runs with the
same seed and the same data order start from the same weights and draw the same dropout masks and
shuffles. Bit-identical results on CPU additionally need `deterministic=True`, which makes
TensorFlow pick deterministic kernels (slower; some ops then raise instead of running).
Data *splits* never depend on a seed (they hash the record key, see common/data/splits.py).
"""

import tensorflow as tf


def set_all(seed: int, *, deterministic: bool = False) -> None:
  """Seeds Python, NumPy and TensorFlow (and optionally requests deterministic kernels).

  Args:
    seed: any non-negative integer; the training config's `seed`.
    deterministic: also call `tf.config.experimental.enable_op_determinism()`.

  Raises:
    ValueError: a negative or non-integer seed.
  """
  if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
    raise ValueError(f"seed must be a non-negative integer, got {seed!r}; set config.seed=0 (or any "
                     "other non-negative integer).")
  tf.keras.utils.set_random_seed(seed)
  if deterministic:
    tf.config.experimental.enable_op_determinism()
