"""`bazel run //tools:batch_bench`: Beam batch prediction against a plain loop (tools/batch/bench.py)."""

import sys

from tools.batch import bench

if __name__ == "__main__":
  sys.exit(bench.main())
