"""A repository rule that makes the project's .venv Bazel's Python toolchain.

Bazel 4's built-in `py_*` rules run whatever interpreter the registered
`py_runtime_pair` names. Pointing it at `<workspace>/.venv/bin/python3` means
every `bazel run`/`bazel test` uses exactly the pinned packages that
`make setup` installed, and nothing is downloaded. Moving to rules_python later
replaces this file and the two lines in WORKSPACE that use it.
"""

def _python_venv_impl(rctx):
    workspace = rctx.path(Label("//:WORKSPACE")).dirname
    interpreter = "%s/.venv/bin/python3" % workspace
    if not rctx.path(interpreter).exists:
        fail(("No Python virtualenv at %s. Run `make setup` in %s first " +
              "(it creates .venv from requirements.txt).") % (interpreter, workspace))

    rctx.file("BUILD", """
load("@bazel_tools//tools/python:toolchain.bzl", "py_runtime_pair")

package(default_visibility = ["//visibility:public"])

py_runtime(
    name = "py3_runtime",
    interpreter_path = "{interpreter}",
    python_version = "PY3",
)

py_runtime_pair(
    name = "runtime_pair",
    py3_runtime = ":py3_runtime",
)

toolchain(
    name = "toolchain",
    toolchain = ":runtime_pair",
    toolchain_type = "@bazel_tools//tools/python:toolchain_type",
)
""".format(interpreter = interpreter))

python_venv = repository_rule(
    implementation = _python_venv_impl,
    local = True,
    doc = "Registers <workspace>/.venv/bin/python3 as the Python 3 toolchain.",
)
