"""Prints 'N passed, N failed, N skipped' over all pytest cases Bazel ran.

Reads every test.xml under the given bazel-testlogs directory (each Bazel test
target writes pytest's JUnit XML there) and adds the case counts up.
"""

import pathlib
import sys
import xml.etree.ElementTree as ET


def main(root: str) -> None:
  passed = failed = skipped = 0
  for xml in pathlib.Path(root).rglob("test.xml"):
    try:
      tree = ET.parse(xml)
    except ET.ParseError:
      failed += 1  # a target that crashed before pytest finished its report
      continue
    for case in tree.iter("testcase"):
      if case.find("failure") is not None or case.find("error") is not None:
        failed += 1
      elif case.find("skipped") is not None:
        skipped += 1
      else:
        passed += 1
  print(f"pytest cases: {passed} passed, {failed} failed, {skipped} skipped")


if __name__ == "__main__":
  main(sys.argv[1])
