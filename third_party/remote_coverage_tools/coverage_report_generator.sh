#!/bin/sh
echo "coverage reports are not generated through Bazel in trellis" >&2
exit 0
