"""RunInference over a trellis export: a small `ModelHandler` that loads the SavedModel once per
worker and calls the domain's signature on batches.

Beam's `RunInference` batches the elements (`BatchElements`, up to `max_batch_size`), shares
one loaded model between the threads of a worker, and reports inference metrics. The elements
here are `(key, prepared input)` pairs from `handlers.Handler.prepare`; the answer for each is
`(key, output dict)` or `(key, DeadLetter)`.

Why a custom handler rather than Beam's `TFModelHandlerTensor`: trellis exports take raw
strings and several named inputs (a history, its times, a request time), they need
`tensorflow_text` imported before loading, and the exports check their raw input in the graph
and refuse a whole batch when one record is bad. On such a refusal this handler runs the
batch's records one by one, so only the bad record becomes a dead letter (with the model's own
reason) and the rest are scored: a job over a million records never fails for one of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from apache_beam.ml.inference import base

from tools.batch import dead_letters, export_reader
from tools.batch.handlers import Handler


class ExportModelHandler(base.ModelHandler):
  """Loads `<model_dir>/<version>` and runs `handler.run` on batches of prepared inputs."""

  def __init__(self, version_dir: str, handler: Handler, *, max_batch_size: int = 64):
    super().__init__(min_batch_size=1, max_batch_size=max_batch_size)
    self._version_dir = version_dir
    self._handler = handler
    self._max_batch_size = max_batch_size

  def load_model(self):
    return export_reader.load(self._version_dir)

  def batch_elements_kwargs(self):
    return {"min_batch_size": 1, "max_batch_size": self._max_batch_size}

  def share_model_across_processes(self) -> bool:
    return False

  def get_metrics_namespace(self) -> str:
    return "trellis_batch_inference"

  def run_inference(self, batch: Sequence[tuple[str, Any]], model,
                    inference_args=None) -> Iterable[tuple[str, Any]]:
    keys = [k for k, _ in batch]
    inputs = [x for _, x in batch]
    if len(batch) > 1:
      try:
        return list(zip(keys, self._handler.run(model, inputs), strict=True))
      except _MODEL_ERRORS:
        pass  # one bad record fails the whole call: score the records alone to find it
    out = []
    for key, x in batch:
      try:
        out.append((key, self._handler.run(model, [x])[0]))
      except _MODEL_ERRORS as e:
        out.append((key, dead_letters.make(key, _message(e), "model", x)))
    return out


def _message(error: Exception) -> str:
  return getattr(error, "message", None) or str(error)


def _model_errors() -> tuple[type[Exception], ...]:
  import tensorflow as tf

  return (tf.errors.InvalidArgumentError, tf.errors.OutOfRangeError, ValueError, TypeError)


_MODEL_ERRORS = _model_errors()
