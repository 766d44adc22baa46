"""Batcher: concurrent requests share calls, results go back to their callers."""

import threading
import time

import grpc
import numpy as np
import pytest

from serving.batching.batcher import Batcher
from serving.core import errors


class Recorder:
  """A signature stand-in: doubles x, records each call's batch size."""

  def __init__(self, delay: float = 0.0):
    self.calls = []
    self.delay = delay

  def __call__(self, inputs):
    x = inputs["x"]
    self.calls.append(x.shape[0])
    time.sleep(self.delay)
    if np.any(x < 0):
      raise errors.invalid_argument("negative input")
    return {"y": x * 2}


def _submit_concurrently(batcher, values, deadline=None):
  results, failures = {}, {}

  def one(i, v):
    try:
      results[i] = batcher.submit({"x": np.array([[v]], np.float32)}, deadline)
    except errors.ServingError as e:
      failures[i] = e

  threads = [threading.Thread(target=one, args=(i, v)) for i, v in enumerate(values)]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  return results, failures


def test_concurrent_requests_are_batched_and_answered_in_order():
  run = Recorder(delay=0.02)
  batcher = Batcher(run, max_batch_size=8, batch_timeout=0.05)
  results, failures = _submit_concurrently(batcher, range(16))
  batcher.close()
  assert not failures
  for i in range(16):
    np.testing.assert_array_equal(results[i]["y"], [[2.0 * i]])
  # 16 one-row requests arriving together run in far fewer calls, none above 8 rows.
  assert sum(run.calls) == 16 and len(run.calls) < 16 and max(run.calls) <= 8


def test_one_bad_request_does_not_fail_its_batch_neighbours():
  run = Recorder()
  batcher = Batcher(run, max_batch_size=8, batch_timeout=0.05)
  results, failures = _submit_concurrently(batcher, [1, -1, 2, 3])
  batcher.close()
  assert list(failures) == [1]
  assert failures[1].code == grpc.StatusCode.INVALID_ARGUMENT
  assert sorted(results) == [0, 2, 3]


def test_expired_deadline_is_not_run():
  run = Recorder()
  batcher = Batcher(run, max_batch_size=4, batch_timeout=0.0)
  with pytest.raises(errors.ServingError) as e:
    batcher.submit({"x": np.ones((1, 1), np.float32)}, deadline=time.monotonic() - 1)
  batcher.close()
  assert e.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
  assert run.calls == []


def test_incompatible_shapes_run_in_separate_batches():
  run = Recorder()
  batcher = Batcher(lambda inputs: {"y": inputs["x"] * 2}, max_batch_size=8, batch_timeout=0.05)
  out = {}

  def one(i, width):
    out[i] = batcher.submit({"x": np.ones((1, width), np.float32)})

  threads = [threading.Thread(target=one, args=(i, 1 + i % 2)) for i in range(6)]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  batcher.close()
  assert run.calls == []  # (the lambda ran, not the recorder)
  for i in range(6):
    assert out[i]["y"].shape == (1, 1 + i % 2)


def test_submit_after_close_runs_unbatched():
  run = Recorder()
  batcher = Batcher(run, max_batch_size=4, batch_timeout=0.0)
  batcher.close()
  out = batcher.submit({"x": np.ones((3, 1), np.float32)})
  np.testing.assert_array_equal(out["y"], np.full((3, 1), 2.0))
  assert run.calls == [3]


def test_lone_client_does_not_wait_for_the_batch_timeout():
  run = Recorder()
  batcher = Batcher(run, max_batch_size=8, batch_timeout=0.5)
  batcher.submit({"x": np.ones((1, 1), np.float32)})  # first call may wait: load unknown
  start = time.monotonic()
  for _ in range(5):
    batcher.submit({"x": np.ones((1, 1), np.float32)})
  batcher.close()
  assert time.monotonic() - start < 0.5  # five calls, none waited the 0.5 s window
  assert run.calls == [1] * 6


def test_lone_client_runs_in_its_own_thread():
  # No company to wait for: the request runs in the caller's thread, without a
  # hand-off to the worker and back.
  threads = []

  def run(inputs):
    threads.append(threading.current_thread())
    return {"y": inputs["x"] * 2}

  batcher = Batcher(run, max_batch_size=8, batch_timeout=0.5)
  for _ in range(4):
    batcher.submit({"x": np.ones((1, 1), np.float32)})
  batcher.close()
  assert threads[1:] == [threading.current_thread()] * 3


def test_request_that_times_out_in_the_queue_never_runs():
  run = Recorder(delay=0.3)
  batcher = Batcher(run, max_batch_size=8, batch_timeout=0.0)
  busy = threading.Thread(target=batcher.submit, args=({"x": np.ones((1, 1), np.float32)},))
  busy.start()
  time.sleep(0.05)  # the worker is now running the first request
  with pytest.raises(errors.ServingError) as e:
    batcher.submit({"x": np.full((1, 1), 5.0, np.float32)}, deadline=time.monotonic() + 0.05)
  busy.join()
  batcher.close()
  assert e.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
  assert run.calls == [1]  # the timed-out request was dropped, not run late


def test_num_threads_bounds_concurrent_batches_and_every_request_is_answered():
  active, peak, lock = [0], [0], threading.Lock()

  def run(inputs):
    with lock:
      active[0] += 1
      peak[0] = max(peak[0], active[0])
    time.sleep(0.02)
    with lock:
      active[0] -= 1
    return {"y": inputs["x"] * 2}

  batcher = Batcher(run, max_batch_size=4, batch_timeout=0.01, num_threads=2)
  results, failures = _submit_concurrently(batcher, range(24))
  batcher.close()
  assert not failures and sorted(results) == list(range(24))
  for i in range(24):
    np.testing.assert_array_equal(results[i]["y"], [[2.0 * i]])
  assert peak[0] <= 2
