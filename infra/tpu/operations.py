"""Waiting on Cloud TPU: long-running operations and state changes, with timeouts and backoff.

Creating a node returns a `google.longrunning.Operation` within a second, but the node takes
minutes to become READY, and a queued resource can wait hours for capacity. Everything here
polls with exponential backoff (short waits first, then at most `Backoff.maximum` apart, so a
day-long wait costs hundreds of calls, not tens of thousands) and gives up at a deadline with a
message saying the work goes on server-side.

Time is read through a `Clock` so tests run hour-long scenarios in milliseconds.
"""

import dataclasses
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from google.api_core import exceptions as core_exceptions

from infra.tpu import errors

T = TypeVar("T")


class Clock:
  """Wall-clock time; tests pass a fake with the same two methods.

  `time` is seconds since the epoch, not a monotonic count: a job's start is recorded on its
  slice and compared with the hosts' clocks (its budget holds across `tpuctl` processes).
  """

  def time(self) -> float:
    return time.time()

  def sleep(self, seconds: float) -> None:
    time.sleep(seconds)


@dataclasses.dataclass(frozen=True)
class Backoff:
  """Delays between polls: `initial`, then times `multiplier`, capped at `maximum` seconds."""
  initial: float = 2.0
  maximum: float = 60.0
  multiplier: float = 1.5

  def delays(self) -> Iterator[float]:
    delay = self.initial
    while True:
      yield delay
      delay = min(delay * self.multiplier, self.maximum)


def poll_until(check: Callable[[], T | None], *, what: str, timeout: float,
               backoff: Backoff = Backoff(), clock: Clock | None = None) -> T:
  """Calls `check` until it returns something other than None.

  Args:
    check: one poll; returns None while not done. Exceptions propagate.
    what: the awaited thing, for the timeout message ("node n to become READY").
    timeout: seconds before giving up.
    backoff: delays between polls.
    clock: time source.

  Raises:
    errors.OperationTimeoutError: `check` still returned None after `timeout` seconds.
  """
  clock = clock or Clock()
  deadline = clock.time() + timeout
  for delay in backoff.delays():
    result = check()
    if result is not None:
      return result
    remaining = deadline - clock.time()
    if remaining <= 0:
      raise errors.OperationTimeoutError(
          f"gave up waiting for {what} after {timeout:.0f} s; the request goes on server-side: "
          "see `tpuctl status JOB.yaml`, and delete the slice if you no longer need it")
    clock.sleep(min(delay, remaining))
  raise AssertionError("unreachable: Backoff.delays() is infinite")


def wait_operation(operation, *, what: str, timeout: float, backoff: Backoff = Backoff(),
                   clock: Clock | None = None, spec=None) -> Any:
  """Waits for a `google.api_core.operation.Operation` and returns its result.

  Each poll is one `google.longrunning.Operations/GetOperation` call. An operation that ends
  in error raises the mapped `errors.TpuError` (quota, capacity, permission...).

  Args:
    operation: what a TpuClient create/delete method returned.
    what: the action, e.g. "create node n", for messages.
    timeout: seconds before giving up.
    backoff: delays between polls.
    clock: time source.
    spec: the job spec, to name accelerator and zone in error messages.
  """

  def check():
    try:
      done = operation.done()
    except core_exceptions.GoogleAPICallError as e:
      raise errors.explain(e, what, spec) from e
    if not done:
      return None
    raw = operation.operation
    if raw.HasField("error") and raw.error.code != 0:
      raise errors.from_operation_error(raw.error, what, spec)
    return (operation.result(),)

  return poll_until(check, what=f"operation {operation.operation.name} ({what})",
                    timeout=timeout, backoff=backoff, clock=clock)[0]
