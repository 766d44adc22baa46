"""trellis's Bazel macros: the one place that knows which Python rules we use.

Every BUILD file loads these instead of calling `py_*` directly, so moving to
rules_python (or adding a flag to every test) is a change in this file only.

    load("//tools/bazel:defs.bzl", "py_binary", "py_library", "py_test")

    py_library(name = "config", srcs = ["config.py"])
    py_test(name = "config_test", size = "small", deps = [":config"])
"""

_PYTEST_MAIN = "//tools/bazel:pytest_main.py"

def py_library(name, **kwargs):
    """A Python library; same attributes as the native rule."""
    native.py_library(name = name, srcs_version = "PY3", **kwargs)

def py_binary(name, srcs = None, main = None, deps = None, **kwargs):
    """A runnable Python target (`bazel run //pkg:name -- --flag=value`).

    The binary starts through a generated two-line entry file that calls
    `common.console.run_main("<pkg>.<main>")`: library log chatter is hidden
    before TensorFlow loads (TRELLIS_VERBOSE=1 or `--verbosity` shows it), then
    the main module runs as `__main__`, exactly as `python -m <pkg>.<main>` would.

    Args:
      name: target name; the source defaults to `<name>.py`.
      srcs: sources; defaults to `[name + ".py"]`.
      main: the entry point file; defaults to the first source.
      deps: libraries the binary uses.
      **kwargs: passed to the native rule.
    """
    srcs = srcs or [name + ".py"]
    main = main or srcs[0]
    module = (native.package_name() + "/" + main[:-len(".py")]).replace("/", ".")
    entry = "%s_entry.py" % name
    native.genrule(
        name = name + "_entry",
        outs = [entry],
        cmd = "printf 'from common import console\\nconsole.run_main(\"%s\")\\n' > $@" % module,
        visibility = ["//visibility:private"],
    )
    native.py_binary(
        name = name,
        srcs = srcs + [entry],
        main = entry,
        deps = (deps or []) + ["//common:console"],
        python_version = "PY3",
        srcs_version = "PY3",
        **kwargs
    )

def py_test(name, size, srcs = None, deps = None, args = None, tags = None, data = None, **kwargs):
    """A pytest file as one Bazel test; a failing test prints pytest's report.

    Args:
      name: target name; the test file defaults to `<name>.py`.
      size: required: "small" (<60 s), "medium" (<300 s), "large" (<900 s).
        Tag tests that take over ~30 s with "slow" and say why in a comment.
      srcs: the test file first, then helpers; defaults to `[name + ".py"]`.
      deps: libraries under test.
      args: extra pytest arguments.
      tags: Bazel tags.
      data: runtime files.
      **kwargs: passed to the native rule.
    """
    srcs = srcs or [name + ".py"]
    native.py_test(
        name = name,
        size = size,
        srcs = srcs + [_PYTEST_MAIN],
        main = _PYTEST_MAIN,
        args = ["$(location %s)" % srcs[0]] + (args or []),
        deps = (deps or []),
        data = data or [],
        tags = tags or [],
        python_version = "PY3",
        srcs_version = "PY3",
        **kwargs
    )
