"""A validation-fitted blend of text models, exported as one raw-string model.

Classic n-gram models and neural models make different mistakes: NBSVM weighs rare but telling
bigrams, the CNN generalises across word pieces it has seen in other words. Averaging their
class log-probabilities with weights fitted **on held-out validation texts** (never on test)
is the cheapest way to beat each member, as `sequences/timeseries` does with its `Ensemble`.

    weights = fit_weights([member log-probabilities on validation], validation labels)
    ensemble = Ensemble(members, weights)          # members: [(preprocessor, model)]
    export.export(RawText(), ensemble, class_names, ...)

`fit_weights` searches the simplex on a grid (step 0.1) for the best validation accuracy, ties
broken by lower log-loss; a member whose weight is 0 is left out of the export. `Ensemble.call`
returns the blended log-probabilities as logits, so the exported `classify`'s softmax gives the
normalised blend; `features` concatenates the kept members' feature vectors (what `embed`
L2-normalises).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from sequences.text import tokenizer as tokenizer_lib


def _log_softmax(logits: np.ndarray) -> np.ndarray:
  shifted = logits - logits.max(axis=-1, keepdims=True)
  return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def blend(member_logits: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
  """The weighted sum of the members' log-softmax scores `[n, num_classes]`."""
  return sum(w * _log_softmax(np.asarray(z, np.float64))
             for w, z in zip(weights, member_logits, strict=True))


def fit_weights(member_logits: Sequence[np.ndarray], labels: np.ndarray,
                step: float = 0.1) -> tuple[float, ...]:
  """Simplex weights (sum 1, multiples of `step`) with the best validation accuracy.

  Args:
    member_logits: each member's logits on the same validation texts.
    labels: their true class ids.
    step: grid resolution.
  """
  if not member_logits:
    raise ValueError("fit_weights needs at least one member's validation logits")
  units = round(1 / step)
  best, best_key = None, None
  for combo in itertools.product(range(units + 1), repeat=len(member_logits)):
    if sum(combo) != units:
      continue
    weights = tuple(c / units for c in combo)
    scores = blend(member_logits, weights)
    accuracy = float(np.mean(scores.argmax(-1) == labels))
    log_loss = float(-np.mean(_log_softmax(scores)[np.arange(len(labels)), labels]))
    key = (accuracy, -log_loss)
    if best_key is None or key > best_key:
      best, best_key = weights, key
  return best


class RawText(tf.keras.layers.Layer):
  """The ensemble's "tokenizer": checks raw strings (empty, non-UTF-8, too long), passes them on."""

  def __init__(self, max_input_bytes: int = tokenizer_lib.DEFAULT_MAX_INPUT_BYTES, **kwargs):
    super().__init__(**kwargs)
    self.max_input_bytes = max_input_bytes

  def call(self, texts):
    texts = tf.convert_to_tensor(texts, dtype=tf.string)
    if texts.shape.rank == 2:
      texts = tf.squeeze(texts, axis=1)
    return tokenizer_lib.check_texts(texts, self.max_input_bytes)


class Ensemble(tf.keras.Model):
  """Raw strings -> blended class log-probabilities of its members.

  Args:
    members: (name, preprocessor, model) triples; `model(preprocessor(text))` gives logits.
    weights: one blend weight per member (from `fit_weights`); zero-weight members are dropped.
  """

  def __init__(self, members: Sequence[tuple[str, tf.keras.layers.Layer, tf.keras.Model]],
               weights: Sequence[float], **kwargs):
    super().__init__(**kwargs)
    if len(members) != len(weights):
      raise ValueError(f"{len(members)} members but {len(weights)} weights")
    kept = [(m, w) for m, w in zip(members, weights, strict=True) if w > 0]
    if not kept:
      raise ValueError("every ensemble weight is 0; fit_weights returns weights summing to 1")
    self.member_names = [name for (name, _, _), _ in kept]
    self.preprocessors = [p for (_, p, _), _ in kept]
    self.members = [m for (_, _, m), _ in kept]
    self.blend_weights = [float(w) for _, w in kept]

  def call(self, texts, training=False):
    total = 0.0
    for preprocessor, model, weight in zip(self.preprocessors, self.members, self.blend_weights,
                                           strict=True):
      logits = tf.cast(model(preprocessor(texts), training=False), tf.float32)
      total += weight * tf.nn.log_softmax(logits, axis=-1)
    return total

  def features(self, texts, training=False):
    return tf.concat([tf.cast(model.features(preprocessor(texts), training=False), tf.float32)
                      for preprocessor, model in zip(self.preprocessors, self.members,
                                                     strict=True)], axis=-1)
