"""The plain in-process batched loop over an export: what the Beam pipeline is measured against.

No Beam, no threads: records are prepared, scored `batch_size` at a time with the same handler
the pipeline uses (so the answers are the same), and returned. It is the floor the pipeline's
overhead is measured from in `bench.py`, and the library call for a job small enough for one
process (`tools.batch_predict.predict`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from tools.batch import dead_letters
from tools.batch.handlers import Handler


def score(handler: Handler, loaded, records: Iterable[dict], batch_size: int = 64
          ) -> Iterator[tuple[str, dict | dead_letters.DeadLetter]]:
  """(key, answer or DeadLetter) for each record, in input order, `batch_size` per model call."""
  batch: list[tuple[str, object]] = []
  for record in records:
    key = handler.key(record)
    try:
      batch.append((key, handler.prepare(record)))
    except dead_letters.BadInput as e:
      yield from _flush(handler, loaded, batch)
      batch = []
      yield key, dead_letters.make(key, str(e), "prepare", record)
      continue
    if len(batch) == batch_size:
      yield from _flush(handler, loaded, batch)
      batch = []
  yield from _flush(handler, loaded, batch)


def _flush(handler, loaded, batch):
  if batch:
    answers = handler.run(loaded, [x for _, x in batch])
    yield from zip([k for k, _ in batch], answers, strict=True)
