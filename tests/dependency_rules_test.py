"""The dependency rules of DESIGN.md, checked on every product module's imports.

DESIGN.md says who may depend on whom: `common` on nothing else in the repository; `vision` and
`sequences` on `common`; `recsys` on `common` and the public encoders of `vision` and `sequences`;
`serving` on `common` only (it serves exports, never model-building code), while a domain's
`serve.py` may use `serving`; `infra` on `common`. Bazel visibility states the same rules for
targets, but a Python import does not go through Bazel when code runs under pytest or `python -m`,
so this test reads the imports themselves (with `ast`) and fails, naming `file:line` and the rule, on

  (a) an import edge the RULES table below forbids,
  (b) any circle in the graph of module-level imports between repository modules (a function-level
      import can hide one: it only runs later, so Python never complains), and
  (c) a function-level import of a repository module with no comment, on its line or the line
      above, saying why it is not at the top (`# lazy: <why>`).

It also reads the BUILD files and applies the same table to the `deps` of every target (a stale dep
on a domain is an edge too) and to every target's `visibility`: a target an area may not use must
not be visible to it, so a hole opened for a forbidden edge shows up even before a module uses it.
This reads the BUILD files rather than running `bazel query 'visible(//serving/..., //vision/...)'`:
a `bazel` started inside `bazel test` waits on the output base the running test holds, and a second
output base would start a server and load every package again (a minute of a 2-core machine).

Product modules are every `.py` under PRODUCT_ROOTS except tests (`*_test.py`, `conftest.py`),
generated protobuf code (`*_pb2*.py`) and `testdata/`. `tests/` and `tools/` may import anything.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import itertools
import pathlib
import tokenize

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]  # local: the repository's own sources

# ---------------------------------------------------------------------------------------------
# The rules. Importer area -> the module prefixes it may import (its own area is always allowed).
# A prefix matches the module itself and everything under it ("vision.encoder" matches
# "vision.encoder" and "vision.encoder.x", not "vision.encoders"). ANYTHING: no restriction.
# The area of a module is the longest prefix of its dotted name that is a key here.
ANYTHING = ("*",)
RULES: dict[str, tuple[str, ...]] = {
    "common": ("common",),
    "vision": ("common", "vision"),
    "sequences": ("common", "sequences"),
    "recsys": ("common", "recsys",
               "vision.encoder", "sequences.text.encoder", "sequences.sequence_encoder"),
    "serving": ("common", "serving"),
    "infra": ("common", "infra"),
    "tools": ANYTHING,
    "tests": ANYTHING,
}
# A domain's serve.py (and only it) may also use the model server: `<domain>/serve.py` runs a
# domain's export behind `serving`; serving itself never reaches back into a domain.
SERVE_MODULE_MAY_IMPORT = ("serving",)
SERVE_MODULE_AREAS = ("vision", "sequences", "recsys")

PRODUCT_ROOTS = ("common", "vision", "sequences", "recsys", "serving", "infra", "tools")
# Every top-level package of the repository (imports of other top-level names are third-party).
REPO_PACKAGES = (*PRODUCT_ROOTS, "tests")
SKIP_PARTS = {"testdata", "__pycache__"}
# Comments that are linter pragmas, not reasons.
PRAGMAS = ("noqa", "type:", "pylint:", "pytype:", "fmt:")
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Edge:
  """One import of a repository module: `importer` imports `target` at `file:line`."""
  importer: str
  target: str
  file: str
  line: int
  function_level: bool  # inside a def (runs when called, not at import)
  type_checking: bool  # under `if TYPE_CHECKING:` (never runs)
  commented: bool  # a comment on the line (or the line above) says why


def module_name(rel: pathlib.PurePath) -> str:
  """`common/data/pipeline.py` -> `common.data.pipeline`; a package's `__init__.py` -> the package."""
  parts = list(rel.with_suffix("").parts)
  if parts[-1] == "__init__":
    parts.pop()
  return ".".join(parts)


def product_files(root: pathlib.Path) -> list[pathlib.Path]:
  """The product modules under `root` (a repository checkout), relative paths, sorted."""
  files = []
  for top in PRODUCT_ROOTS:
    for path in sorted((root / top).rglob("*.py")):  # local: the repository's own sources
      rel = path.relative_to(root)
      name = rel.name
      if (SKIP_PARTS & set(rel.parts) or name.endswith("_test.py") or name == "conftest.py"
          or "_pb2" in name):
        continue
      files.append(rel)
  return files


def area(module: str) -> str | None:
  """The RULES key a module belongs to (the longest matching prefix), or None if none does."""
  best = None
  for key in RULES:
    if _under(module, key) and (best is None or len(key) > len(best)):
      best = key
  return best


def _under(module: str, prefix: str) -> bool:
  return module == prefix or module.startswith(prefix + ".")


def forbidden(importer: str, target: str) -> str | None:
  """Why `importer` may not import `target`, or None if the rules allow it."""
  importer_area, target_area = area(importer), area(target)
  if importer_area is None or target_area is None or importer_area == target_area:
    return None
  allowed = RULES[importer_area]
  if allowed == ANYTHING or any(_under(target, prefix) for prefix in allowed):
    return None
  if (importer.endswith(".serve") and importer_area in SERVE_MODULE_AREAS
      and any(_under(target, prefix) for prefix in SERVE_MODULE_MAY_IMPORT)):
    return None
  extra = (f"; a domain's serve.py may also import {', '.join(SERVE_MODULE_MAY_IMPORT)}"
           if importer_area in SERVE_MODULE_AREAS
           and any(_under(target, prefix) for prefix in SERVE_MODULE_MAY_IMPORT) else "")
  return f"{importer_area} may import only {', '.join(allowed)}{extra}"


def _comment_lines(source: str) -> dict[int, str]:
  """Line number -> the text of the comment on it (real comments, not `#` inside strings)."""
  comments = {}
  try:
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
      if token.type == tokenize.COMMENT:
        comments[token.start[0]] = token.string.lstrip("#").strip()
  except (tokenize.TokenError, IndentationError):
    pass
  return comments


def _is_reason(comment: str | None) -> bool:
  return bool(comment) and not comment.lower().startswith(PRAGMAS) and len(comment.split()) >= 2


class _ImportVisitor(ast.NodeVisitor):
  """Collects every import with whether it sits in a function and under `if TYPE_CHECKING:`."""

  def __init__(self):
    self.found: list[tuple[ast.stmt, bool, bool]] = []
    self._functions = 0
    self._type_checking = 0

  def _in_function(self, node):
    self._functions += 1
    self.generic_visit(node)
    self._functions -= 1

  def visit_FunctionDef(self, node):
    self._in_function(node)

  def visit_AsyncFunctionDef(self, node):
    self._in_function(node)

  def visit_Lambda(self, node):
    self._in_function(node)

  def visit_If(self, node):
    test = ast.unparse(node.test)
    guarded = test in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
    self._type_checking += guarded
    for child in node.body:
      self.visit(child)
    self._type_checking -= guarded
    for child in node.orelse:
      self.visit(child)

  def visit_Import(self, node):
    self.found.append((node, self._functions > 0, self._type_checking > 0))

  def visit_ImportFrom(self, node):
    self.visit_Import(node)


def imports_of(rel: pathlib.PurePath, source: str, modules: set[str]) -> list[Edge]:
  """The imports of repository modules in one file, each resolved to the module it loads.

  `from a.b import c` is the module `a.b.c` when that is a module, else `a.b` (c is a name in it);
  `import a.b.c` is the longest of `a.b.c`, `a.b`, `a` that is a module. Relative imports are
  resolved against the file's package.
  """
  importer = module_name(rel)
  package = importer if rel.name == "__init__.py" else importer.rpartition(".")[0]
  comments = _comment_lines(source)
  visitor = _ImportVisitor()
  visitor.visit(ast.parse(source, str(rel)))
  edges = []
  for node, function_level, type_checking in visitor.found:
    targets = []
    if isinstance(node, ast.Import):
      targets = [_longest_module(alias.name, modules) for alias in node.names]
    else:
      base = node.module or ""
      if node.level:
        anchor = package.split(".")
        anchor = anchor[:len(anchor) - (node.level - 1)]
        base = ".".join(anchor + ([base] if base else []))
      for alias in node.names:
        full = f"{base}.{alias.name}" if base else alias.name
        targets.append(full if full in modules else _longest_module(base, modules))
    span = range(node.lineno - 1, (node.end_lineno or node.lineno) + 1)
    commented = any(_is_reason(comments.get(line)) for line in span
                    if line != node.lineno - 1 or _comment_only(source, line))
    for target in targets:
      if target is not None and target.split(".")[0] in REPO_PACKAGES:
        edges.append(Edge(importer, target, str(rel), node.lineno, function_level, type_checking,
                          commented))
  return edges


def _comment_only(source: str, line: int) -> bool:
  lines = source.splitlines()
  return 0 < line <= len(lines) and lines[line - 1].lstrip().startswith("#")


def _longest_module(name: str, modules: set[str]) -> str | None:
  parts = name.split(".")
  for end in range(len(parts), 0, -1):
    candidate = ".".join(parts[:end])
    if candidate in modules:
      return candidate
  return None


def _all_modules(root: pathlib.Path) -> set[str]:
  names = set()
  for top in REPO_PACKAGES:
    for path in (root / top).rglob("*.py"):  # local: the repository's own sources
      names.add(module_name(path.relative_to(root)))
  return names


def collect(root: pathlib.Path) -> list[Edge]:
  """Every import edge from a product module of the checkout at `root` to a repository module."""
  modules = _all_modules(root)
  edges = []
  for rel in product_files(root):
    source = (root / rel).read_text()  # local: the repository's own sources
    edges.extend(imports_of(rel, source, modules))
  return edges


def rule_violations(edges: list[Edge]) -> list[str]:
  """(a) `file:line: importer imports target: rule` for every edge RULES forbid."""
  found = []
  for e in edges:
    why = forbidden(e.importer, e.target)
    if why:
      found.append(f"{e.file}:{e.line}: {e.importer} imports {e.target}: {why}")
  return sorted(found)


def circles(edges: list[Edge], through_functions: bool = False) -> list[str]:
  """(b) One line per circle of imports: `a (a.py:3) -> b (b.py:7) -> a`.

  Args:
    edges: the imports.
    through_functions: also follow function-level imports. A circle that needs one is still a
      circle, only hidden: the two modules cannot be understood (or tested) one without the
      other, and the import order decides which half sees the other half-initialized.
  """
  graph: dict[str, dict[str, Edge]] = {}
  for e in edges:
    if ((through_functions or not e.function_level) and not e.type_checking
        and e.importer != e.target):
      graph.setdefault(e.importer, {}).setdefault(e.target, e)
  found = []
  for component in _strongly_connected(graph):
    if len(component) < 2:
      continue
    cycle = _a_cycle(graph, component)
    hops = " -> ".join(f"{a} ({_where(graph[a][b])})" for a, b in itertools.pairwise(cycle))
    found.append(f"circle: {hops} -> {cycle[-1]}")
  return sorted(found)


def _where(e: Edge) -> str:
  return f"{e.file}:{e.line}" + (", in a function" if e.function_level else "")


def _strongly_connected(graph: dict[str, dict[str, Edge]]) -> list[list[str]]:
  """Tarjan's algorithm, iterative (the import graph is a few hundred modules deep at most)."""
  index, low, on_stack, stack, components = {}, {}, set(), [], []
  counter = 0
  for start in sorted(graph):
    if start in index:
      continue
    work = [(start, iter(sorted(graph.get(start, {}))))]
    index[start] = low[start] = counter
    counter += 1
    stack.append(start)
    on_stack.add(start)
    while work:
      node, children = work[-1]
      child = next(children, None)
      if child is not None:
        if child not in index:
          index[child] = low[child] = counter
          counter += 1
          stack.append(child)
          on_stack.add(child)
          work.append((child, iter(sorted(graph.get(child, {})))))
        elif child in on_stack:
          low[node] = min(low[node], index[child])
        continue
      work.pop()
      if work:
        low[work[-1][0]] = min(low[work[-1][0]], low[node])
      if low[node] == index[node]:
        component = []
        while True:
          member = stack.pop()
          on_stack.discard(member)
          component.append(member)
          if member == node:
            break
        components.append(sorted(component))
  return components


def _a_cycle(graph: dict[str, dict[str, Edge]], component: list[str]) -> list[str]:
  """The shortest circle through the component's first module, as [m, ..., m]."""
  members, start = set(component), component[0]
  previous, frontier = {start: None}, [start]
  while frontier:
    following = []
    for node in frontier:
      for child in sorted(graph.get(node, {})):
        if child == start:
          path = [node]
          while previous[path[-1]] is not None:
            path.append(previous[path[-1]])
          return [*path[::-1], start]  # path runs from node back to start
        if child in members and child not in previous:
          previous[child] = node
          following.append(child)
    frontier = following
  return [start, start]


def uncommented_lazy_imports(edges: list[Edge]) -> list[str]:
  """(c) `file:line: ...` for every function-level import of a repo module without a reason."""
  return [f"{e.file}:{e.line}: function-level import of {e.target} without a comment saying why "
          "(move it to the top, or add `# lazy: <why>` on its line)"
          for e in edges if e.function_level and not e.commented]


# --- BUILD deps ---------------------------------------------------------------------------------


def build_deps(root: pathlib.Path) -> list[tuple[str, str, str, int]]:
  """(BUILD file, target label, dep label, line) for every repository `deps` entry."""
  found = []
  for build in sorted(root.rglob("BUILD")):  # local: the repository's own sources
    rel = build.relative_to(root)
    if rel.parts[0] not in REPO_PACKAGES or SKIP_PARTS & set(rel.parts):
      continue
    package = "/".join(rel.parts[:-1])
    tree = ast.parse(build.read_text(), str(rel))  # local: the repository's own sources
    for call in ast.walk(tree):
      if not isinstance(call, ast.Call):
        continue
      if isinstance(call.func, ast.Name) and call.func.id == "py_test":
        continue  # tests may import anything (they are not product modules either)
      keywords = {k.arg: k.value for k in call.keywords}
      name = keywords.get("name")
      if not isinstance(name, ast.Constant) or not isinstance(keywords.get("deps"), ast.List):
        continue
      for dep in keywords["deps"].elts:
        if isinstance(dep, ast.Constant) and isinstance(dep.value, str):
          label = dep.value if dep.value.startswith("//") else f"//{package}{dep.value}"
          found.append((str(rel), f"//{package}:{name.value}", label, dep.lineno))
  return found


def _label_module(label: str) -> str:
  """`//vision:encoder` -> `vision.encoder` (one library target per module, STYLE.md)."""
  package, _, target = label[2:].partition(":")
  target = target or package.rsplit("/", 1)[-1]
  return ".".join([*package.split("/"), target])


def build_violations(deps: list[tuple[str, str, str, int]]) -> list[str]:
  found = []
  for build, target, dep, line in deps:
    if dep.split(":")[0][2:].split("/")[0] not in REPO_PACKAGES:
      continue
    why = forbidden(_label_module(target), _label_module(dep))
    if why:
      found.append(f"{build}:{line}: {target} depends on {dep}: {why}")
  return found


def _build_calls(root: pathlib.Path):
  """(package, call name, keyword dict) for every rule call in the repository's BUILD files."""
  for build in sorted(root.rglob("BUILD")):  # local: the repository's own sources
    rel = build.relative_to(root)
    if len(rel.parts) > 1 and (rel.parts[0] not in REPO_PACKAGES or SKIP_PARTS & set(rel.parts)):
      continue
    package = "/".join(rel.parts[:-1])
    tree = ast.parse(build.read_text(), str(rel))  # local: the repository's own sources
    for call in ast.walk(tree):
      if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
        yield package, call.func.id, {k.arg: k.value for k in call.keywords}


def _strings(node) -> list[str]:
  if isinstance(node, ast.List):
    return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
  return []


def visibility_holes(root: pathlib.Path) -> list[str]:
  """Targets whose `visibility` lets an area the rules forbid depend on them.

  Visibility is per package, so an area may see a target when any package of it may: `serving`
  seeing a `vision` library is a hole; a domain seeing `serving` is not (its serve.py may use it).
  """
  calls = list(_build_calls(root))
  groups = {f"//{package}:{kw['name'].value}": _strings(kw.get("packages"))
            for package, rule, kw in calls if rule == "package_group"}
  defaults = {package: _strings(kw.get("default_visibility"))
              for package, rule, kw in calls if rule == "package"}
  found = []
  for package, rule, kw in calls:
    name = kw.get("name")
    if rule in ("package", "package_group", "py_test") or not isinstance(name, ast.Constant):
      continue
    label = f"//{package}:{name.value}"
    target_area = area(_label_module(label))
    visible = _strings(kw["visibility"]) if "visibility" in kw else defaults.get(package, [])
    for other in RULES:
      if other == target_area or not any(_grants(v, other, groups) for v in visible):
        continue
      why = forbidden(other, _label_module(label))
      if why and forbidden(f"{other}.serve", _label_module(label)):
        found.append(f"{package}/BUILD:{name.lineno}: {label} is visible to //{other}: {why}")
  return found


def _grants(visibility: str, area_name: str, groups: dict[str, list[str]]) -> bool:
  """Whether a `visibility` entry lets some package of the area see the target."""
  if visibility == "//visibility:public":
    return True
  if visibility in groups:
    return any(_covers(spec, area_name) for spec in groups[visibility])
  package, _, kind = visibility.partition(":")
  if kind in ("__pkg__", "__subpackages__"):
    return _covers(package + ("/..." if kind == "__subpackages__" else ""), area_name)
  return False


def _covers(spec: str, area_name: str) -> bool:
  """Whether a package spec (`//a/b`, `//a/b/...`, `//...`) includes a package of the area."""
  if spec == "//...":
    return True
  area_path, package = area_name.replace(".", "/"), spec[2:].removesuffix("/...")
  return (package == area_path or package.startswith(area_path + "/")  # a package of the area
          or (spec.endswith("/...") and area_path.startswith(package + "/")))  # a parent's tree


# --- the checks on this repository ---------------------------------------------------------------


@pytest.fixture(scope="module")
def edges() -> list[Edge]:
  return collect(REPO)


def test_no_import_the_rules_forbid(edges):
  found = rule_violations(edges)
  assert not found, ("imports DESIGN.md's dependency rules forbid (RULES in "
                     "tests/dependency_rules_test.py):\n  " + "\n  ".join(found))


def test_no_circle_of_module_level_imports(edges):
  found = circles(edges)
  assert not found, ("circles of module-level imports (break them by moving the shared piece "
                     "into its own module):\n  " + "\n  ".join(found))


def test_no_circle_hidden_by_a_function_level_import(edges):
  found = sorted(set(circles(edges, through_functions=True)) - set(circles(edges)))
  assert not found, ("circles closed by a function-level import (it hides the circle from "
                     "Python, not from a reader; move the shared piece into its own module):\n  "
                     + "\n  ".join(found))


def test_function_level_imports_say_why(edges):
  found = uncommented_lazy_imports(edges)
  assert not found, "\n  ".join(["function-level imports with no reason:", *found])


def test_build_deps_follow_the_same_rules():
  found = build_violations(build_deps(REPO))
  assert not found, ("BUILD deps DESIGN.md's dependency rules forbid:\n  " + "\n  ".join(found))


def test_visibility_is_no_wider_than_the_rules():
  found = visibility_holes(REPO)
  assert not found, ("Bazel visibility wider than DESIGN.md's dependency rules (close the hole: "
                     "name only the packages the rules allow):\n  " + "\n  ".join(found))


def test_the_checker_sees_this_repository(edges):
  files = product_files(REPO)
  assert len(files) > 100 and len(edges) > 200, (len(files), len(edges))
  assert all(area(module_name(f)) for f in files)


# --- the checker itself, on a small synthetic tree ---------------------------------------------


def _tree(root: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
  for rel, text in files.items():
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)  # local: pytest's tmp_path
    path.write_text(text)  # local: pytest's tmp_path
  return root


def test_the_checker_reports_a_forbidden_import_a_circle_and_an_unexplained_lazy_import(tmp_path):
  root = _tree(tmp_path, {
      "common/__init__.py": "",
      "common/a.py": "from common import b\n",
      "common/b.py": "import common.a\n",  # a circle: common.a <-> common.b
      "common/c.py": "def f():\n  from common import a\n  return a\n",  # no reason given
      "common/d.py": ("def f():\n  from common import a  # lazy: a imports TensorFlow\n"
                      "  # lazy: the reason may stand on the line above\n"
                      "  import common.b\n"),
      "common/e.py": "import common.f\n",
      "common/f.py": "def g():\n  import common.e  # lazy: e imports f, so f cannot import e first\n",
      "recsys/__init__.py": "",
      "recsys/model.py": "from vision import encoder\nfrom sequences.text import encoder\n",
      "recsys/bad.py": "from vision import models\n",
      "serving/__init__.py": "",
      "serving/x.py": "import os\n\nimport numpy\nfrom recsys import model\n",
      "serving/x_test.py": "from recsys import model\n",  # tests may import anything
      "vision/__init__.py": "",
      "vision/encoder.py": "",
      "vision/models.py": "",
      "vision/serve.py": "from serving import x\n",
      "vision/demo.py": "from serving import x\n",
      "sequences/__init__.py": "",
      "sequences/text/__init__.py": "",
      "sequences/text/encoder.py": "",
      "tools/t.py": "from recsys import bad\nfrom serving import x\n",
  })
  edges = collect(root)
  assert rule_violations(edges) == [
      "recsys/bad.py:1: recsys.bad imports vision.models: recsys may import only common, recsys, "
      "vision.encoder, sequences.text.encoder, sequences.sequence_encoder",
      "serving/x.py:4: serving.x imports recsys.model: serving may import only common, serving",
      "vision/demo.py:1: vision.demo imports serving.x: vision may import only common, vision; "
      "a domain's serve.py may also import serving",
  ]
  assert circles(edges) == [
      "circle: common.a (common/a.py:1) -> common.b (common/b.py:1) -> common.a"]
  # f's lazy import of e hides a circle; d's lazy import of a closes none (a imports only b).
  assert sorted(set(circles(edges, through_functions=True)) - set(circles(edges))) == [
      "circle: common.e (common/e.py:1) -> common.f (common/f.py:2, in a function) -> common.e"]
  assert uncommented_lazy_imports(edges) == [
      "common/c.py:2: function-level import of common.a without a comment saying why (move it "
      "to the top, or add `# lazy: <why>` on its line)"]


def test_the_checker_resolves_relative_imports_and_ignores_type_checking_circles(tmp_path):
  root = _tree(tmp_path, {
      "common/__init__.py": "",
      "common/data/__init__.py": "from .pipeline import run\n",
      "common/data/pipeline.py": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                  "  from common.data import files\nrun = 1\n"),
      "common/data/files.py": "from . import pipeline\nfrom .. import data\n",
      "infra/__init__.py": "",
      "infra/job.py": "from ..vision import models  # noqa: bad\n",
      "vision/__init__.py": "",
      "vision/models.py": "",
  })
  edges = collect(root)
  assert {(e.importer, e.target) for e in edges} == {
      ("common.data", "common.data.pipeline"), ("common.data.pipeline", "common.data.files"),
      ("common.data.files", "common.data.pipeline"), ("common.data.files", "common.data"),
      ("infra.job", "vision.models")}
  # data -> pipeline -> files -> data would be a circle, but pipeline's import of files never
  # runs (TYPE_CHECKING), so it is no edge of the graph.
  assert circles(edges) == []
  assert rule_violations(edges) == [
      "infra/job.py:1: infra.job imports vision.models: infra may import only common, infra"]


def test_the_build_checker_reports_a_forbidden_dep(tmp_path):
  root = _tree(tmp_path, {
      "serving/BUILD": ('py_library(\n    name = "bench",\n    deps = [\n'
                        '        ":server",\n        "//common:config",\n'
                        '        "//vision:models",\n    ],\n)\n'),
      "recsys/BUILD": ('py_library(name = "model", deps = ["//vision:encoder", '
                       '"//sequences/text:encoder", "@pypi//x"])\n'),
  })
  assert build_violations(build_deps(root)) == [
      "serving/BUILD:6: //serving:bench depends on //vision:models: serving may import only "
      "common, serving"]


def test_the_visibility_checker_reports_a_target_an_area_may_not_use(tmp_path):
  root = _tree(tmp_path, {
      "BUILD": ('package_group(name = "recsys", packages = ["//recsys/...", "//tools/..."])\n'
                'package_group(name = "everyone", packages = ["//..."])\n'),
      "common/BUILD": ('package(default_visibility = ["//:everyone"])\n'
                       'py_library(name = "config")\n'),
      "vision/BUILD": ('package(default_visibility = ["//visibility:private"])\n'
                       'py_library(name = "encoder", visibility = ["//:recsys"])\n'
                       'py_library(name = "models", visibility = ["//:recsys"])\n'
                       'py_library(name = "export_lib", visibility = ["//serving:__pkg__"])\n'
                       'py_test(name = "models_test", visibility = ["//visibility:public"])\n'),
      "serving/BUILD": 'py_library(name = "server", visibility = ["//vision:__subpackages__"])\n',
      "infra/tpu/BUILD": 'py_library(name = "client", visibility = ["//visibility:public"])\n',
  })
  assert visibility_holes(root) == [
      "infra/tpu/BUILD:1: //infra/tpu:client is visible to //common: common may import only "
      "common",
      "infra/tpu/BUILD:1: //infra/tpu:client is visible to //vision: vision may import only "
      "common, vision",
      "infra/tpu/BUILD:1: //infra/tpu:client is visible to //sequences: sequences may import only "
      "common, sequences",
      "infra/tpu/BUILD:1: //infra/tpu:client is visible to //recsys: recsys may import only "
      "common, recsys, vision.encoder, sequences.text.encoder, sequences.sequence_encoder",
      "infra/tpu/BUILD:1: //infra/tpu:client is visible to //serving: serving may import only "
      "common, serving",
      "vision/BUILD:3: //vision:models is visible to //recsys: recsys may import only common, "
      "recsys, vision.encoder, sequences.text.encoder, sequences.sequence_encoder",
      "vision/BUILD:4: //vision:export_lib is visible to //serving: serving may import only "
      "common, serving",
  ]


@pytest.mark.parametrize("importer, target, allowed", [
    ("common.config", "vision.configs.default", False),
    ("vision.train", "common.config", True),
    ("sequences.text.models", "sequences.sequence_encoder", True),
    ("sequences.text.models", "vision.models", False),
    ("recsys.encoders", "sequences.text.encoder", True),
    ("recsys.encoders", "sequences.text.models", False),
    ("recsys.encoders", "vision.encoders", False),  # a prefix matches whole names only
    ("recsys.serve", "serving.server", True),
    ("sequences.timeseries.serve", "serving.server", True),
    ("sequences.timeseries.train", "serving.server", False),
    ("serving.bench", "vision.export", False),
    ("infra.tpu.client", "common.distribute.tpu", True),
    ("infra.tpu.client", "serving.client", False),
    ("tools.demo", "recsys.train", True),
])
def test_the_rule_table(importer, target, allowed):
  assert (forbidden(importer, target) is None) == allowed
