"""Server-side batching: concurrent requests to one signature run as one batch.

A small model spends most of a call in fixed per-call overhead (Python, op
dispatch), so running 32 one-row requests as one 32-row call is far cheaper
than 32 calls. `Batcher` queues requests; a worker takes the first one, waits
at most `batch_timeout` for more (up to `max_batch_size` rows), concatenates
them along dimension 0, runs once and hands each caller its rows back. This is
TensorFlow Serving's `--enable_batching` (max_batch_size, batch_timeout_micros,
num_batch_threads) for signatures whose inputs and outputs all have a leading
batch dimension.

Requests only share a batch when their non-batch dimensions and dtypes agree.
A lone client is not made to wait: while batches hold one request, the next
runs at once, in the caller's own thread (no hand-off to a worker and back,
which on a busy machine costs more than a small model). A request whose
deadline passes while queued is answered DEADLINE_EXCEEDED and never runs. If a
batch fails on its data, each request in it is re-run alone, so one bad input
does not fail its neighbours.

Per-request cost matters here: with a small model the batcher's own
bookkeeping is paid ~32 times per model call. Each request therefore waits on a
plain lock used as a one-shot signal rather than a `concurrent.futures.Future`
(a Condition and several lock round-trips per request).
"""

import collections
import threading
import time
from collections.abc import Callable, Mapping

import grpc
import numpy as np

from serving.core import errors

RunFn = Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]

_QUEUED, _TAKEN, _CANCELLED = 0, 1, 2


class _Task:
  """One queued request; `done` is held until a worker sets `outputs` or `error`."""

  __slots__ = ("deadline", "done", "error", "inputs", "key", "outputs", "rows", "state")

  def __init__(self, inputs: Mapping[str, np.ndarray], deadline: float | None):
    self.inputs = inputs
    self.rows = next(iter(inputs.values())).shape[0]
    if len(inputs) == 1:
      (k, v), = inputs.items()
      self.key = ((k, v.dtype, v.shape[1:]),)
    else:
      self.key = tuple(sorted((k, v.dtype.str, v.shape[1:]) for k, v in inputs.items()))
    self.deadline = deadline
    self.state = _QUEUED  # changed only under the batcher's lock
    self.outputs: dict[str, np.ndarray] | None = None
    self.error: BaseException | None = None
    self.done = threading.Lock()
    self.done.acquire()

  def finish(self, outputs=None, error=None) -> None:
    self.outputs, self.error = outputs, error
    self.done.release()


class Batcher:
  """Batches calls to one signature.

  Args:
    run: runs the signature on a dict of batched numpy inputs.
    max_batch_size: most rows in one call.
    batch_timeout: seconds the first queued request waits for company.
    num_threads: batches that may run at once.
    on_batch: called with each batch's row count (for metrics).
    always_wait: wait `batch_timeout` even for a lone client (TF Serving's behaviour).
  """

  def __init__(self, run: RunFn, *, max_batch_size: int = 32, batch_timeout: float = 0.001,
               num_threads: int = 1, on_batch: Callable[[int], None] = lambda rows: None,
               always_wait: bool = False, name: str = "batcher"):
    if max_batch_size < 1:
      raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
    self._run = run
    self.max_batch_size = max_batch_size
    self.batch_timeout = batch_timeout
    self._on_batch = on_batch
    self._queue: collections.deque[_Task] = collections.deque()
    self._cond = threading.Condition()
    self._closed = False
    self._num_threads = num_threads
    self._running = 0  # batches collecting or executing in workers, or inline in a caller's thread
    self._collecting = 0  # while a worker waits for company: how many more requests would fill it
    # Waiting for company only pays when requests overlap. While the last batch
    # held a single request (a lone client), run at once instead of adding
    # batch_timeout to every call; under load the queue fills while a batch
    # runs and the full wait applies. (TF Serving always waits.)
    self._had_company = True
    self._always_wait = always_wait
    self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
                     for i in range(num_threads)]
    for t in self._threads:
      t.start()

  def submit(self, inputs: Mapping[str, np.ndarray], deadline: float | None = None
             ) -> dict[str, np.ndarray]:
    """Runs `inputs` (rows along dim 0) as part of a batch; blocks for the result.

    Args:
      inputs: checked inputs, every one with the same leading dimension.
      deadline: `time.monotonic()` time after which the caller no longer waits.
    """
    task = _Task(inputs, deadline)
    with self._cond:
      if self._closed:
        # The version is being unloaded: requests that already hold it finish unbatched.
        inline = None
      elif not self._had_company and not self._queue and self._running < self._num_threads:
        # A lone client: nothing to batch with and a free slot, so run here and now.
        self._running += 1
        inline = task
      else:
        self._queue.append(task)
        # A worker collecting a batch sleeps until its timeout or until enough rows
        # are queued to fill it; waking it for every arrival costs a thread switch
        # per request for nothing.
        if not self._collecting or len(self._queue) >= self._collecting:
          self._cond.notify()
        inline = False
    if inline is None:
      return self._run(inputs)
    if inline:
      try:
        self._on_batch(task.rows)
        return self._run(inputs)
      finally:
        with self._cond:
          self._running -= 1
          if self._queue:  # work arrived meanwhile; waking an idle worker for nothing costs
            self._cond.notify()
    timeout = -1 if deadline is None else max(deadline - time.monotonic(), 0.0)
    if not task.done.acquire(timeout=timeout):
      with self._cond:
        if task.state == _QUEUED:
          task.state = _CANCELLED  # the worker skips it
      raise errors.deadline_exceeded(
          "deadline exceeded while the request waited for its batch; raise the client "
          "timeout or lower --batch_timeout_micros")
    if task.error is not None:
      raise task.error
    return task.outputs

  def close(self) -> None:
    """Finishes queued work, then stops the workers."""
    with self._cond:
      self._closed = True
      self._cond.notify_all()
    for t in self._threads:
      t.join()

  def _pop(self) -> _Task | None:
    """The next live queued task (under the lock), dropping ones whose caller gave up."""
    while self._queue:
      task = self._queue[0]
      if task.state == _CANCELLED:
        self._queue.popleft()
        continue
      return task
    return None

  def _next_batch(self) -> list[_Task] | None:
    with self._cond:
      while (first := self._pop()) is None or self._running >= self._num_threads:
        if self._closed and first is None:
          return None
        self._cond.wait()
      # Take the slot now, before collecting: collecting releases the lock (in wait), and a
      # slot checked here but taken only after collecting could meanwhile go to a lone client
      # (run inline) or another worker, so more than num_threads batches would run at once.
      self._running += 1
      self._queue.popleft()
      batch = [first]
      rows = first.rows
      flush_at = time.monotonic() + self.batch_timeout
      while rows < self.max_batch_size:
        task = self._pop()
        if task is not None:
          if task.key != first.key or rows + task.rows > self.max_batch_size:
            break
          batch.append(self._queue.popleft())
          rows += task.rows
          continue
        remaining = flush_at - time.monotonic()
        if remaining <= 0 or self._closed or not self._had_company:
          break
        self._collecting = self.max_batch_size - rows  # (in requests: at least one row each)
        self._cond.wait(remaining)
        self._collecting = 0
      for task in batch:
        task.state = _TAKEN
      self._had_company = self._always_wait or len(batch) > 1
      if self._queue and self._num_threads > 1:
        self._cond.notify()  # arrivals left over (not signalled while we collected): next worker
      return batch

  def _work(self) -> None:
    while (batch := self._next_batch()) is not None:
      try:
        now = time.monotonic()
        live = []
        for task in batch:
          if task.deadline is not None and task.deadline <= now:
            task.finish(error=errors.deadline_exceeded(
                "deadline exceeded before the request ran; raise the client timeout"))
            continue
          live.append(task)
        if live:
          self._run_batch(live)
      finally:
        with self._cond:
          self._running -= 1
          if self._queue and self._num_threads > 1:  # another worker may wait for the slot
            self._cond.notify()

  def _run_batch(self, tasks: list[_Task]) -> None:
    if len(tasks) == 1:
      inputs = tasks[0].inputs
    else:
      inputs = {k: np.concatenate([t.inputs[k] for t in tasks]) for k in tasks[0].inputs}
    self._on_batch(sum(t.rows for t in tasks))
    try:
      outputs = self._run(inputs)
    except errors.ServingError as e:
      if len(tasks) > 1 and e.code == grpc.StatusCode.INVALID_ARGUMENT:
        for task in tasks:  # find the bad request(s) instead of failing all
          self._run_one(task)
        return
      for task in tasks:
        task.finish(error=e)
      return
    except Exception as e:  # delivered to every caller
      for task in tasks:
        task.finish(error=e)
      return
    if len(tasks) == 1:
      tasks[0].finish(outputs)
      return
    start = 0
    for task in tasks:
      stop = start + task.rows
      task.finish({k: v[start:stop] for k, v in outputs.items()})
      start = stop

  def _run_one(self, task: _Task) -> None:
    try:
      task.finish(self._run(task.inputs))
    except Exception as e:
      task.finish(error=e)
