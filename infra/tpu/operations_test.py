"""Tests for polling with backoff and timeouts."""

import pytest

from infra.tpu import errors, operations


class FakeClock(operations.Clock):
  def __init__(self):
    self.now, self.sleeps = 0.0, []

  def time(self):
    return self.now

  def sleep(self, seconds):
    self.sleeps.append(seconds)
    self.now += seconds


def test_backoff_grows_then_caps():
  delays = operations.Backoff(initial=2, maximum=10, multiplier=2).delays()
  assert [next(delays) for _ in range(6)] == [2, 4, 8, 10, 10, 10]


def test_poll_until_returns_the_first_result_and_sleeps_with_backoff():
  answers = iter([None, None, None, "READY"])
  clock = FakeClock()
  got = operations.poll_until(lambda: next(answers), what="x", timeout=100,
                              backoff=operations.Backoff(1, 3, 2), clock=clock)
  assert got == "READY"
  assert clock.sleeps == [1, 2, 3]  # three misses, then the answer


def test_poll_until_gives_up_at_the_deadline_and_says_the_work_goes_on():
  clock = FakeClock()
  with pytest.raises(errors.OperationTimeoutError, match="node n to become READY after 10 s"):
    operations.poll_until(lambda: None, what="node n to become READY", timeout=10,
                          backoff=operations.Backoff(4, 4, 1), clock=clock)
  assert clock.sleeps == [4, 4, 2]  # the last sleep is cut to the deadline
  assert clock.now == 10
