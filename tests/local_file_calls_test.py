"""Lint: no local-only file call on what may be a user's gs:// location.

Data files and globs, workdirs and export roots may be on Cloud Storage (`gs://`) or any other file
system TensorFlow knows; only `tf.io.gfile` and TensorFlow's own ops reach them. Python's `open`,
`glob.glob`, `os.path.exists`, `os.listdir`, `shutil` and `pathlib` see the local disk only
(pathlib even turns `gs://bucket/run` into a local folder `gs:/bucket/run`), so on a TPU VM they
fail, or worse, write next to the job instead of into the bucket.

This test parses every product module (not tests) and fails on such a call unless its line says
why the path is local, with a `# local: <reason>` comment, e.g.

    with open(labels, "w") as f:  # local: a temporary file, copied into the export

Whole modules that never see a user's location are listed in ALLOWED_MODULES with the reason.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]  # local: the repository's own sources
# Where user-supplied locations are handled: configs and workdirs, data readers, training
# callbacks, export roots, the domains' train/evaluate/export jobs, and the export inspector.
# serving/ (model roots) joins when the model server reads its roots through tf.io.gfile.
CHECKED = ("common/config.py", "common/config_file.py", "common/data", "common/training",
           "common/export", "common/shopworld", "vision", "sequences", "recsys",
           "tools/show_export.py")
SKIP_PARTS = {"testdata", "__pycache__"}

# Modules whose every file call is on a local path by design, and why. Keep this short: a module
# that handles a user's location marks its local-only lines with `# local:` instead.
ALLOWED_MODULES = {
    "common/data/data_dir.py": "the --data_dir download cache, local by design (URLs refused)",
    "common/data/datasets.py": "checksums of files in the local --data_dir cache",
    "common/data/download.py": "downloads into the local --data_dir cache (temp file + rename)",
    "common/data/fetch.py": "the CLI that fills the local --data_dir cache",
    "common/export/versions.py": "local branch of publishing: fsync, flock and rename need a "
                                 "local disk; URLs take the tf.io.gfile branch (is_local)",
}

# Not converted yet (their packages were being rewritten by other engineers at the same time):
# module -> the number of unmarked local file calls it has now. A ratchet: the test fails when a
# module gains one, and when it loses some (lower the number, or delete the line at zero).
PENDING = {
}

# os.path functions that touch the file system (join/basename/splitext only handle strings).
OS_PATH_QUERIES = {"exists", "lexists", "isfile", "isdir", "islink", "getsize", "getmtime",
                   "getctime", "getatime", "samefile"}
OS_FILE_CALLS = {"listdir", "scandir", "walk", "makedirs", "mkdir", "remove", "unlink", "rmdir",
                 "rename", "replace", "stat"}
# Methods of pathlib.Path that touch the file system. Names str/tf.io.gfile share (replace,
# rename, glob on gfile) are checked by receiver below.
PATH_METHODS = {"read_text", "write_text", "read_bytes", "write_bytes", "iterdir", "is_file",
                "is_dir", "exists", "mkdir", "rglob", "glob", "touch", "unlink", "rmdir", "stat"}
# Receivers whose methods of those names are not local file calls.
SAFE_RECEIVERS = {"gfile", "tf.io.gfile", "tf.io", "io.gfile",
                  "file_io"}  # common/data/files.py: tf.io.gfile for URLs


def _product_modules() -> list[pathlib.Path]:
  modules = []
  for entry in CHECKED:
    root = REPO / entry  # local: the repository's own sources
    paths = [root] if entry.endswith(".py") else sorted(root.rglob("*.py"))  # local: sources
    for path in paths:
      rel = path.relative_to(REPO)
      if (SKIP_PARTS & set(rel.parts) or path.name.endswith("_test.py")
          or path.name == "conftest.py"):
        continue
      modules.append(path)
  return modules


def _dotted(node: ast.AST) -> str:
  if isinstance(node, ast.Name):
    return node.id
  if isinstance(node, ast.Attribute):
    inner = _dotted(node.value)
    return f"{inner}.{node.attr}" if inner else ""
  return ""


def _problem(call: ast.Call) -> str | None:
  """What is local-only about this call, or None."""
  func = call.func
  name = _dotted(func)
  if name in ("open", "io.open", "gzip.open", "bz2.open", "lzma.open"):
    return f"{name}()"
  if name in ("glob.glob", "glob.iglob"):
    return f"{name}()"
  if name.startswith("os.path.") and name.split(".")[-1] in OS_PATH_QUERIES:
    return f"{name}()"
  if name.startswith("os.") and name.count(".") == 1 and name.split(".")[1] in OS_FILE_CALLS:
    return f"{name}()"
  if name.startswith("shutil."):
    return f"{name}()"
  if name in ("pathlib.Path", "Path", "pathlib.PurePath"):
    return f"{name}() (pathlib turns gs://b into gs:/b)"
  if isinstance(func, ast.Attribute) and func.attr in PATH_METHODS:
    receiver = _dotted(func.value)
    if receiver in SAFE_RECEIVERS or receiver.endswith(".gfile"):
      return None
    return f".{func.attr}() (a pathlib file operation)"
  return None


def violations(source: str, filename: str = "<module>") -> list[str]:
  """`file:line: problem` for every local-only file call without a `# local:` reason."""
  lines = source.splitlines()
  found = []
  for node in ast.walk(ast.parse(source, filename)):
    if not isinstance(node, ast.Call):
      continue
    problem = _problem(node)
    if problem is None:
      continue
    span = lines[node.lineno - 1:(node.end_lineno or node.lineno)]
    if any("# local:" in line for line in span):
      continue
    found.append(f"{filename}:{node.lineno}: {problem}")
  return found


def _violations_by_module() -> dict[str, list[str]]:
  found = {}
  for path in _product_modules():
    rel = str(path.relative_to(REPO))
    if rel not in ALLOWED_MODULES:
      found[rel] = violations(path.read_text(), rel)  # local: the repository's own sources
  return found


def test_product_modules_reach_user_locations_only_through_tf_io_gfile():
  found = [v for rel, vs in _violations_by_module().items() if rel not in PENDING for v in vs]
  assert not found, (
      "local-only file calls on what may be a gs:// location; use tf.io.gfile (or TensorFlow "
      "ops), or end the line with `# local: <why this path is always local>`:\n  "
      + "\n  ".join(found))


def test_pending_modules_only_get_better():
  by_module = _violations_by_module()
  changed = {rel: (count, len(by_module.get(rel, []))) for rel, count in PENDING.items()
             if len(by_module.get(rel, [])) != count}
  worse = {rel: c for rel, c in changed.items() if c[1] > c[0]}
  assert not worse, (
      "new local-only file calls in modules still being converted (PENDING: was, now); use "
      f"tf.io.gfile or mark them `# local: <why>`: {worse}\n  "
      + "\n  ".join(v for rel in worse for v in by_module[rel]))
  assert not changed, f"fewer local calls than PENDING records (was, now): lower them: {changed}"


def test_allowed_modules_exist_and_say_why():
  for rel, reason in ALLOWED_MODULES.items():
    assert (REPO / rel).is_file(), f"{rel} is allowlisted but missing"  # local: the repository
    assert len(reason) > 20, rel


@pytest.mark.parametrize("code, expected", [
    ("open(p)", ["open()"]),
    ("import glob\nglob.glob(p)", ["glob.glob()"]),
    ("import os\nos.path.exists(p)", ["os.path.exists()"]),
    ("import os\nos.listdir(p)", ["os.listdir()"]),
    ("import shutil\nshutil.copyfile(a, b)", ["shutil.copyfile()"]),
    ("import pathlib\npathlib.Path(p)", ["pathlib.Path() (pathlib turns gs://b into gs:/b)"]),
    ("d.mkdir(parents=True)", [".mkdir() (a pathlib file operation)"]),
    ("tf.io.gfile.exists(p)\ntf.io.gfile.glob(p)\nos.path.join(a, b)\ns.replace('a', 'b')", []),
    ("open(p)  # local: Bazel runfiles", []),
    ("f = open(\n    p,  # local: a temporary file\n    'w')", []),
])
def test_the_checker_flags_local_calls_and_honours_local_comments(code, expected):
  assert [v.split(": ", 1)[1] for v in violations(code)] == expected
