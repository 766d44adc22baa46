"""Every domain's train/export/demo modules can be imported together in one process.

`make demo` (tools/demo.py) and these integration tests call several domains' public functions
from one Python process, so no module may claim a global name another one also claims at import
time. absl flags are such names: defining `--workdir` in two imported modules raises
DuplicateFlagError before any code runs.
"""

from __future__ import annotations

import importlib

# The modules whose public functions other packages call (demo, train, export of each domain).
DOMAIN_MODULES = (
    "vision.demo", "vision.export", "vision.train",
    "sequences.text.demo", "sequences.text.export", "sequences.text.train",
    "sequences.timeseries.demo", "sequences.timeseries.export", "sequences.timeseries.train",
    "recsys.demo", "recsys.export", "recsys.train",
)


def test_domain_modules_import_together():
  for name in DOMAIN_MODULES:
    importlib.import_module(name)
