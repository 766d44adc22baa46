"""Tests for common/console.py: library chatter hidden, trellis's own messages and errors kept."""

import logging
import os
import signal
import subprocess
import sys
import threading

import pytest

from common import console

# Lines copied from a TensorFlow 2.21 run on this machine.
_CHATTER = [
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    b"I0000 00:00:1796428351.548596    4847 port.cc:153] oneDNN custom operations are on.\n",
    b"W0000 00:00:1796428353.438659    4847 cudart_stub.cc:31] Could not find cuda drivers\n",
    b"E0000 00:00:1796428673.005519   13345 cuda_platform.cc:52] failed call to cuInit: INTERNAL\n",
    b"E0000 00:00:1796429376.338784   15944 util.cc:131] oneDNN supports DT_INT32 only on platforms with AVX-512. Falling back\n",
    b"2026-12-04 23:59:01.123456: I tensorflow/core/framework/local_rendezvous.cc:407] Local\n",
]
_KEPT = [
    b"E0000 00:00:1796428351.548596    4847 x.cc:1] an error is kept\n",
    b"F0000 00:00:1796428351.548596    4847 x.cc:1] Check failed: so is a fatal one\n",
    b"W1204 23:59:01.123456 140234 cpu.py:40] trellis's own absl warning (a real date)\n",
    b"Traceback (most recent call last):\n",
    b"Iteration 3 of 10\n",
    b"Epoch 1/8\n",
]


@pytest.mark.parametrize("line", _CHATTER)
def test_library_log_lines_are_chatter(line):
  assert console.is_chatter(line)


@pytest.mark.parametrize("line", _KEPT)
def test_errors_tracebacks_and_our_own_lines_are_not(line):
  assert not console.is_chatter(line)


def _filtered(data: bytes) -> bytes:
  source_r, source_w = os.pipe()
  sink_r, sink_w = os.pipe()
  os.write(source_w, data)
  os.close(source_w)
  console.filter_stream(source_r, sink_w)
  with os.fdopen(sink_r, "rb") as out:
    return out.read()


def test_filter_stream_keeps_order_and_drops_only_chatter():
  data = b"".join(x for pair in zip(_CHATTER, _KEPT, strict=True) for x in pair)
  assert _filtered(data) == b"".join(_KEPT)


def test_a_last_line_without_newline_is_forwarded():
  assert _filtered(b"I0000 00:00:1.5  1 a.cc:1] x\nbye") == b"bye"


def test_a_progress_bar_redrawn_with_carriage_returns_is_forwarded_before_its_line_ends():
  source_r, source_w = os.pipe()
  sink_r, sink_w = os.pipe()
  worker = threading.Thread(target=console.filter_stream, args=(source_r, sink_w))
  worker.start()
  try:
    os.write(source_w, b"\r 10%|#         | 1/10")
    # tqdm writes no newline until it finishes; the bar must show now, not at the end.
    assert os.read(sink_r, 100) == b"\r 10%|#         | 1/10"
  finally:
    os.close(source_w)
    worker.join(timeout=10)
    os.close(sink_r)


@pytest.mark.parametrize("argv,environ,expected", [
    (["train"], {}, False),
    (["train", "--verbosity=0"], {}, True),
    (["train", "-v", "1"], {}, True),
    (["train"], {"TRELLIS_VERBOSE": "1"}, True),
    (["train"], {"TRELLIS_VERBOSE": "0"}, False),
    (["train", "--workdir=/tmp/v"], {}, False),
])
def test_verbose_requested(argv, environ, expected):
  assert console.verbose_requested(argv, environ) is expected


def test_records_from_library_code_below_error_are_dropped():
  library_file = os.path.join(console._LIBRARY_DIRS[0], "tensorflow", "python", "saving.py")
  ours = os.path.abspath(__file__)
  record = lambda path, level: logging.LogRecord("absl", level, path, 1, "m", None, None)  # noqa: E731
  keep = console._LibraryRecords().filter
  assert not keep(record(library_file, logging.WARNING))
  assert keep(record(library_file, logging.ERROR))
  assert keep(record(ours, logging.WARNING))
  assert not keep(record(ours, logging.INFO))


_PROGRAM = """
import sys
from common import console
console.quiet()
import tensorflow as tf
from absl import logging
print(float(tf.reduce_sum(tf.ones([3]))), flush=True)
logging.warning("trellis warning the user can act on")
print("to stderr", file=sys.stderr, flush=True)
"""


def _run(environ: dict[str, str]) -> subprocess.CompletedProcess:
  env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **environ}
  env.pop("TF_CPP_MIN_LOG_LEVEL", None)
  return subprocess.run([sys.executable, "-c", _PROGRAM], env=env, capture_output=True,
                        timeout=240, check=True)


def test_a_quiet_tensorflow_program_prints_only_its_own_lines():
  quiet = _run({"TRELLIS_VERBOSE": "0"})
  assert quiet.stdout == b"3.0\n"
  assert b"trellis warning the user can act on" in quiet.stderr
  assert b"to stderr" in quiet.stderr
  assert not [line for line in quiet.stderr.splitlines(keepends=True) if console.is_chatter(line)], (
      quiet.stderr.decode())
  verbose = _run({"TRELLIS_VERBOSE": "1"})
  assert verbose.stdout == b"3.0\n"
  # TensorFlow's import-time INFO lines ("oneDNN custom operations are on") are back.
  assert any(console.is_chatter(line) for line in verbose.stderr.splitlines(keepends=True)), (
      verbose.stderr.decode())


_INTERRUPTED_PROGRAM = """
import signal, sys, time
from common import console
console.quiet()
def bye(*_):
  time.sleep(0.5)  # a server draining its requests
  print("stopped cleanly", file=sys.stderr, flush=True)
  sys.exit(0)
signal.signal(signal.SIGINT, bye)
print("ready", flush=True)
time.sleep(60)
"""


def test_ctrl_c_to_the_process_group_does_not_cut_the_programs_last_words():
  env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "TRELLIS_VERBOSE": "0"}
  program = subprocess.Popen([sys.executable, "-c", _INTERRUPTED_PROGRAM], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
  try:
    assert program.stdout.readline() == b"ready\n"
    os.killpg(program.pid, signal.SIGINT)  # what a terminal does on Ctrl-C: the filter gets it too
    _, stderr = program.communicate(timeout=60)
  finally:
    if program.poll() is None:
      os.killpg(program.pid, signal.SIGKILL)
  assert program.returncode == 0
  assert b"stopped cleanly" in stderr
