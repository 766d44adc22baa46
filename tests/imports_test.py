"""Every domain's train/export/demo modules can be imported together in one process.

`make demo` (tools/demo.py) and these integration tests call several domains' public functions
from one Python process, so no module may claim a global name another one also claims at import
time. absl flags are such names: defining `--workdir` in two imported modules raises
DuplicateFlagError before any code runs.
"""

from __future__ import annotations

import importlib

import pytest
from absl import flags

# The modules whose public functions other packages call (demo, train, export of each domain).
DOMAIN_MODULES = (
    "vision.demo", "vision.export", "vision.train",
    "sequences.text.demo", "sequences.text.export", "sequences.text.train",
    "sequences.timeseries.demo", "sequences.timeseries.export", "sequences.timeseries.train",
    "recsys.demo", "recsys.export_main", "recsys.train",
)


@pytest.mark.xfail(
    raises=flags.DuplicateFlagError,
    strict=True,  # once fixed this passes, and strict makes that visible: drop the marker then
    reason="vision/export.py and recsys/export_main.py both define the absl flags --workdir, "
           "--export_root and --model_name at import time (DuplicateFlagError); they belong in "
           "`if __name__ == '__main__':` / main() as sequences/text/export.py does")
def test_domain_modules_import_together():
  for name in DOMAIN_MODULES:
    importlib.import_module(name)
