"""Run a binary's absl `main` in-process, with a command line, as `bazel run` would.

    from common.testing import flags as flags_testing
    from vision import main
    flags_testing.run_main(main.main, ["train", "--workdir=ram://run", "--config.epochs=1"])

Two things make this more than `FLAGS(argv); main(argv)`, and both must be undone after the call,
or the next test in the same process sees the previous one's command line:

- A config flag (`common.config.DEFINE_config_file`, like ml_collections') reads its
  `--config.a.b=value` overrides from `sys.argv` when it is parsed, not from the list parsed, so
  `sys.argv` is the run's argv for the duration of the call.
- Parsing defines one new flag per override (`config.a.b`); a second parse with the same override
  would fail as a duplicate, so the flags a parse defined are deleted afterwards, and every flag
  is unparsed back to its default.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from absl import flags


@contextlib.contextmanager
def command_line(argv: Sequence[str],
                 flag_values: flags.FlagValues = flags.FLAGS) -> Iterator[None]:
  """`argv` (program name first) parsed into `flag_values` and set as `sys.argv`, for the block."""
  argv = list(argv)
  before, saved_argv = set(flag_values), sys.argv
  sys.argv = argv
  try:
    flag_values(argv)
    yield
  finally:
    sys.argv = saved_argv
    flag_values.unparse_flags()
    for name in set(flag_values) - before:
      delattr(flag_values, name)  # the next parse defines its own override flags


def run_main(main: Callable[[list[str]], Any], argv: Sequence[str],
             flag_values: flags.FlagValues = flags.FLAGS) -> Any:
  """Calls `main([program])` with `argv` parsed, as absl's `app.run(main)` would; its result."""
  with command_line(argv, flag_values):
    return main(list(argv[:1]))
