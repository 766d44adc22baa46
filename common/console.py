"""What a person sees on the console when they run a trellis command.

Every `bazel run` entry point (train, evaluate, export, serve, bench, the demo) starts through
`run_main` (the `py_binary` macro in tools/bazel/defs.bzl generates that call), which hides the
chatter of the libraries underneath before TensorFlow is imported:

* TensorFlow's C++ INFO/WARNING lines ("oneDNN custom operations are on", "Sharding callback
  duration", "cudart_stub ... Could not find cuda drivers"). TF 2.21 logs through absl's C++
  logger, which nothing initialises, so `TF_CPP_MIN_LOG_LEVEL` does not reach all of them: they
  are written straight to file descriptor 2. A child process therefore sits between the
  program's stderr and the terminal and drops lines in absl's C++ log format at level I or W.
  Errors (E), fatal messages (F), Python tracebacks and everything else pass through. Being a
  separate process, it forwards what is left even when the program crashes or aborts.
  Two ERROR lines are dropped too: "failed call to cuInit" (every machine without a GPU logs it)
  and "oneDNN supports DT_INT32 only on platforms with AVX-512" (a CPU without AVX-512).
* Python log records at INFO (detail for whoever debugs a run), and log records and `warnings`
  below ERROR raised inside third-party packages (TensorFlow, Keras, TFRS, absl, Beam): "Found
  untraced functions", "signature_serialization ... unsupported characters", deprecation
  notices. They tell a user nothing they can act on. Warnings from trellis's own code stay:
  those are the ones a user can act on.

Progress bars, tables and trellis's own messages are untouched. To see everything, run with
`TRELLIS_VERBOSE=1` in the environment or pass absl's `--verbosity` / `-v` flag (e.g.
`--verbosity=0`); then nothing is filtered and TensorFlow logs at INFO.
"""

from __future__ import annotations

import logging
import os
import re
import runpy
import signal
import sys
import sysconfig
import warnings

# C++ log lines at INFO or WARNING, in the two formats TensorFlow 2.21 writes:
# absl's, before anything initialises absl logging (the date reads 0000 and the time is raw
# epoch seconds): "I0000 00:00:1796428351.548596    4847 port.cc:153] oneDNN custom ..."
# and tsl's own: "2026-12-04 23:59:01.123456: W tensorflow/core/...".
# Python absl records look like the first but carry a real date ("W1204 23:59:01.123456"), so
# trellis's own absl warnings are never taken for chatter.
_CPP_CHATTER = re.compile(rb"^(?:[IW]0000 00:00:\d+\.\d+\s+\d+ |\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IW] )")
# "Errors" that TensorFlow logs on ordinary CPU machines and nobody can act on: no GPU, and
# oneDNN falling back to Eigen for int32 on CPUs without AVX-512.
_HARMLESS_ERRORS = (b"failed call to cuInit", b"oneDNN supports DT_INT32 only on platforms with AVX-512")
_CPP_PREAMBLE = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
# A partial line that may still turn out to be chatter is held until its end arrives; any
# other partial line (a tqdm bar redrawn with \r) is forwarded at once.
_MAYBE_CHATTER = re.compile(rb"^(?:[IW]0{0,4}|[IW]0000 .*|\d{1,4}(?:-\d{0,2}){0,2}(?: .*)?)$", re.S)

# Where third-party code lives; records and warnings raised from there are filtered.
_LIBRARY_DIRS = tuple({os.path.realpath(sysconfig.get_paths()[k]) + os.sep
                       for k in ("purelib", "platlib", "stdlib")})


def verbose_requested(argv: list[str], environ: dict[str, str] | os._Environ = os.environ) -> bool:
  """True when the user asked for the libraries' logs (TRELLIS_VERBOSE=1, --verbosity, -v)."""
  if environ.get("TRELLIS_VERBOSE", "") not in ("", "0"):
    return True
  return any(a == "-v" or a.startswith(("--verbosity", "-v=")) for a in argv[1:])


def is_chatter(line: bytes) -> bool:
  """True for a C++ INFO/WARNING log line from TensorFlow/XLA/absl (see module docstring)."""
  if _CPP_CHATTER.match(line) or line.rstrip(b"\r\n") == _CPP_PREAMBLE:
    return True
  return line.startswith(b"E0000 00:00:") and any(e in line for e in _HARMLESS_ERRORS)


def _undecided(partial: bytes) -> bool:
  return _CPP_PREAMBLE.startswith(partial) or bool(_MAYBE_CHATTER.match(partial))


def filter_stream(source: int, sink: int) -> None:
  """Copies file descriptor `source` to `sink` until EOF, leaving out C++ chatter lines.

  Whole lines are judged; a partial line that cannot become chatter is passed on at once (so
  progress bars that redraw with carriage returns still move), the rest of its line with it.
  """
  with os.fdopen(source, "rb", buffering=0) as reader, os.fdopen(sink, "wb", buffering=0) as out:
    pending, passing = b"", False
    while chunk := reader.read(65536):
      data, kept = pending + chunk, []
      pending = b""
      while data:
        end = data.find(b"\n")
        if passing:  # the rest of a line already judged not to be chatter
          cut = len(data) if end < 0 else end + 1
          kept.append(data[:cut])
          data, passing = data[cut:], end < 0
        elif end >= 0:
          line, data = data[:end + 1], data[end + 1:]
          if not is_chatter(line):
            kept.append(line)
        elif _undecided(data):
          pending, data = data, b""
        else:
          kept.append(data)
          data, passing = b"", True
      if kept:
        out.write(b"".join(kept))
    if pending and not is_chatter(pending):
      out.write(pending)


def _filter_stderr() -> None:
  """Routes this process's fd 2 (and its children's) through a filtering child process."""
  read_end, write_end = os.pipe()
  sys.stderr.flush()
  pid = os.fork()
  if pid == 0:  # the filter: lives until every writer of the pipe has exited
    # Ctrl-C reaches the whole process group. The filter must outlive it, so the program's
    # shutdown messages (and a traceback) still reach the terminal; it ends at EOF instead.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.close(write_end)
    try:
      filter_stream(read_end, os.dup(2))
    finally:
      os._exit(0)
  os.close(read_end)
  os.dup2(write_end, 2)
  os.close(write_end)


class _LibraryRecords(logging.Filter):
  """Keeps trellis's own warnings and errors, and errors from third-party code.

  INFO records (trellis's included: "distribution: kind=default replicas=1") are detail for
  whoever debugs a run; they come back with TRELLIS_VERBOSE=1 or --verbosity=0.
  """

  def filter(self, record: logging.LogRecord) -> bool:
    if record.levelno >= logging.ERROR:
      return True
    if record.levelno < logging.WARNING:
      return False
    return not os.path.realpath(record.pathname).startswith(_LIBRARY_DIRS)


def _show_warning(original):
  def show(message, category, filename, lineno, file=None, line=None):
    if os.path.realpath(filename).startswith(_LIBRARY_DIRS):
      return
    original(message, category, filename, lineno, file, line)
  return show


def quiet(argv: list[str] | None = None) -> bool:
  """Hides library chatter unless the user asked for it; returns True when it did.

  Call before TensorFlow is imported (C++ log levels are read at load time).
  """
  argv = sys.argv if argv is None else argv
  if verbose_requested(argv):
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
    return False
  os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
  os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
  _filter_stderr()
  # absl must set its logger class before anyone asks for the "absl" logger, or records name
  # absl's own file as their source instead of the caller's.
  from absl import logging as absl_logging
  library_records = _LibraryRecords()
  # A logger's filters see only records logged on it; handler filters see every record that
  # reaches the handler (absl's handler, installed on the root logger by `app.run`).
  for name in ("absl", "tensorflow", "h5py", "matplotlib", "apache_beam"):
    logging.getLogger(name).addFilter(library_records)
  absl_logging.get_absl_handler().addFilter(library_records)
  warnings.showwarning = _show_warning(warnings.showwarning)
  return True


def run_main(module: str) -> None:
  """Runs `module` as `__main__` (what `python -m module` does) with library chatter hidden."""
  quiet()
  runpy.run_module(module, run_name="__main__", alter_sys=True)
