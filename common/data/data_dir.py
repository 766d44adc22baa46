"""The `--data_dir` convention: where real datasets live, and errors that say how to get them.

Real datasets are never copied into the repository. A binary finds them, in order, from
  1. its `--data_dir` flag,
  2. the environment variable `TRELLIS_DATA_DIR` (Bazel passes it through to tests),
  3. `../shared/data` next to the repository root.
A missing directory or file is an error that names the path, the file expected there and the
command that fetches it, so nobody has to read code to find out what to download.

The data directory is local on purpose: it is the download cache of the small, checksummed public
datasets (ETT, MovieLens, AG News, MNIST, CIFAR-10), which `fetch` writes and whose loaders read
with local file calls. Large data on Cloud Storage (ImageNet TFRecords, image folders) is named
directly in the config (`--config.data.train_files='gs://BUCKET/imagenet/train-*'`) and read
through tf.io.gfile; `resolve` refuses a gs:// data_dir with that advice.
"""

import os
import pathlib

import absl.flags

ENV_VAR = "TRELLIS_DATA_DIR"


class DataNotFoundError(FileNotFoundError):
  """A data directory or a file in it is missing; the message says how to provide it."""


def repo_root() -> pathlib.Path:
  """The repository root, also under `bazel run` and `bazel test`.

  `bazel run` sets BUILD_WORKSPACE_DIRECTORY. Elsewhere this file's real path is used: Bazel's
  runfiles are symlinks into the source tree, so resolving them lands in the checkout.
  """
  if workspace := os.environ.get("BUILD_WORKSPACE_DIRECTORY"):
    return pathlib.Path(workspace)
  return pathlib.Path(__file__).resolve().parents[2]


def default_data_dir() -> pathlib.Path:
  """`../shared/data` relative to the repository root."""
  return (repo_root().parent / "shared" / "data").resolve()


def define_flag(name: str = "data_dir") -> None:
  """Defines the absl flag `--data_dir` (call once, in a `main.py`)."""
  absl.flags.DEFINE_string(
      name, None,
      f"Directory with the real datasets. Default: ${ENV_VAR}, else ../shared/data next to the "
      "repository root.")


def resolve(flag_value: str | os.PathLike | None = None, *, must_exist: bool = True) -> pathlib.Path:
  """Returns the data directory chosen by the convention above.

  Args:
    flag_value: the value of `--data_dir` (None or "" when not given).
    must_exist: raise `DataNotFoundError` if the directory does not exist.

  Raises:
    DataNotFoundError: the chosen directory does not exist; the message says where it came from
      and the three ways to point at the right one.
  """
  given, source = (flag_value, "--data_dir") if flag_value else (os.environ.get(ENV_VAR),
                                                                  f"${ENV_VAR}")
  if given and "://" in os.fspath(given):
    raise DataNotFoundError(
        f"data_dir {given} (from {source}) is a URL, but the data "
        "directory is the local download cache of the small checksummed datasets. Copy them to a "
        "local directory (e.g. `gsutil -m cp -r gs://BUCKET/data /tmp/data`, then "
        "--data_dir=/tmp/data); large data on Cloud Storage is named in the config instead, e.g. "
        "--config.data.train_files='gs://BUCKET/imagenet/train-*'.")
  if given:
    path = pathlib.Path(given)
  else:
    path, source = default_data_dir(), "the default (../shared/data next to the repository root)"
  path = path.expanduser()
  if must_exist and not path.is_dir():
    raise DataNotFoundError(
        f"data_dir {path} (from {source}) does not exist or is not a directory. Pass "
        f"--data_dir=/path/to/data, set {ENV_VAR}=/path/to/data, or create {default_data_dir()} "
        "and put the datasets there (`bazel run //common/data:fetch -- <dataset>` fetches them).")
  return path


def require(data_dir: str | os.PathLike, relative_path: str, hint: str | None = None) -> pathlib.Path:
  """Returns `data_dir/relative_path`, or raises an error saying what to place where.

  Args:
    data_dir: the directory from `resolve`.
    relative_path: the file (or directory) the caller needs, e.g. "ett/ETTh1.csv".
    hint: how to get it, e.g. "run `bazel run //tools:download -- ett`"; included in the error.

  Raises:
    DataNotFoundError: naming the missing path, where to put the file and how to fetch it.
  """
  data_dir = pathlib.Path(data_dir)
  path = data_dir / relative_path
  if path.exists():
    return path
  how = hint or "download it from the dataset's homepage (see its PROVENANCE.md)"
  if not data_dir.is_dir():
    raise DataNotFoundError(
        f"data_dir {data_dir} does not exist, so {relative_path} cannot be read. Create it, place "
        f"the file at {path}, or point --data_dir/${ENV_VAR} elsewhere; to get the file: {how}.")
  raise DataNotFoundError(
      f"data_dir {data_dir} has no {relative_path}: place the file at {path}; to get it: {how}.")
