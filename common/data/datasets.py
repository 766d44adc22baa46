"""The real datasets trellis reads: where each file comes from and the sha256 it must have.

    path = datasets.require(data_dir, "ett", "ETTh1.csv")   # verified; else says how to get it

    bazel run //common/data:fetch -- ett            # fetch into --data_dir (or the default)

The hashes are those recorded in each dataset's PROVENANCE.md under ../shared/data. A file is
verified the first time a process asks for it, so a truncated copy or another version of a
dataset is caught before it turns into a quietly different result.
"""

import dataclasses
import os
import pathlib
import shutil
import tempfile
import zipfile

from common.data import data_dir as data_dir_lib
from common.data import download


@dataclasses.dataclass(frozen=True)
class Dataset:
  """One dataset: its files' hashes and where they come from."""
  name: str
  homepage: str
  files: dict[str, str]          # file name -> sha256
  base_url: str | None = None    # file URLs are base_url + name
  archive_url: str | None = None  # or: one zip holding the files under `archive_dir/`
  archive_dir: str = ""
  note: str = ""


DATASETS = {
    "ett": Dataset(
        name="ett", homepage="https://github.com/zhouhaoyi/ETDataset",
        base_url="https://raw.githubusercontent.com/zhouhaoyi/ETDataset/"
                 "1d16c8f4f943005d613b5bc962e9eeb06058cf07/ETT-small/",
        files={
            "ETTh1.csv": "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066",
            "ETTh2.csv": "a3dc2c597b9218c7ce1cd55eb77b283fd459a1d09d753063f944967dd6b9218b",
            # The 15-minute files (69,680 rows each): 10,360,719 and 9,677,236 bytes.
            "ETTm1.csv": "6ce1759b1a18e3328421d5d75fadcb316c449fcd7cec32820c8dafda71986c9e",
            "ETTm2.csv": "db973ca252c6410a30d0469b13d696cf919648d0f3fd588c60f03fdbdbadd1fd",
        }),
    "ml-100k": Dataset(
        name="ml-100k", homepage="https://grouplens.org/datasets/movielens/100k/",
        archive_url="https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        archive_dir="ml-100k",
        files={
            "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
            "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
            "u.user": "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c",
            "u.genre": "9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb",
            "u.occupation": "cd5fbec9afe345d993a62fc7817df1a4a9079c4feb267b3118763b8fd942137d",
            "ua.base": "67b5bcdb380c29f85d56a012ecd88612ae020f30a6730d117a334ee8203b91f2",
            "ua.test": "d0497e202417720f57a184ec8c66be2d1afa4ff41bb53787c57b28d6bf79bc42",
        },
        note="research use only; do not redistribute (GroupLens terms)"),
    "ag_news": Dataset(
        name="ag_news", homepage="http://www.di.unipi.it/~gulli/AG_corpus_of_news_articles.html",
        base_url="https://raw.githubusercontent.com/yongzhuo/char_CNN_text_classification_Chinese2Pinyin/"
                 "789f87c46020ab9ce4476081b4012fe73561fa60/data/ag_news_csv/",
        files={
            "test.csv": "521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699",
        },
        note="test split only; train.csv is not available offline"),
}

_verified: set[pathlib.Path] = set()


def get(name: str) -> Dataset:
  """The registry entry for `name`, or an error listing the known datasets."""
  if name not in DATASETS:
    raise KeyError(f"unknown dataset {name!r}; known datasets: {', '.join(sorted(DATASETS))}")
  return DATASETS[name]


def fetch_command(name: str) -> str:
  return f"bazel run //common/data:fetch -- {name}"


def require(data_dir: str | os.PathLike, name: str, filename: str) -> pathlib.Path:
  """`data_dir/<name>/<filename>`, verified against its sha256 (once per process).

  Raises:
    data_dir.DataNotFoundError: the file is missing; says where to place it and the command that
      fetches it.
    download.ChecksumError: the file is there but is not the expected version.
  """
  dataset = get(name)
  if filename not in dataset.files:
    raise KeyError(f"dataset {name!r} has no file {filename!r}; its files: {sorted(dataset.files)}")
  hint = (f"run `{fetch_command(name)}` (with --data_dir={data_dir} if that is not the default), "
          f"or copy it from {dataset.homepage}; expected sha256 {dataset.files[filename]}")
  path = data_dir_lib.require(data_dir, f"{name}/{filename}", hint=hint)
  if path.resolve() not in _verified:
    download.verify_sha256(path, dataset.files[filename])
    _verified.add(path.resolve())
  return path


def fetch(name: str, data_dir: str | os.PathLike, *, progress: bool = True) -> list[pathlib.Path]:
  """Downloads (or verifies) every file of a dataset into `data_dir/<name>/`.

  Raises:
    download.DownloadError: offline or the server failed; says which files to place where.
    download.ChecksumError: a downloaded file is not the expected version.
  """
  dataset = get(name)
  target = pathlib.Path(data_dir) / name
  missing = [f for f in dataset.files if not (target / f).is_file()]
  if missing and dataset.archive_url:
    _fetch_archive(dataset, target, missing, progress)
  paths = []
  for filename, sha256 in dataset.files.items():
    if dataset.base_url and not (target / filename).is_file():
      download.fetch(dataset.base_url + filename, target / filename, sha256, progress=progress)
    paths.append(download.verify_sha256(target / filename, sha256))
  return paths


def _fetch_archive(dataset: Dataset, target: pathlib.Path, missing: list[str], progress: bool):
  target.mkdir(parents=True, exist_ok=True)
  with tempfile.TemporaryDirectory(dir=target) as tmp:
    archive = pathlib.Path(tmp) / "archive.zip"
    try:
      download.fetch_unverified(dataset.archive_url, archive, progress=progress)
    except download.DownloadError as e:
      raise download.DownloadError(
          f"{e}\nOr unpack {dataset.archive_url} by hand so that {target} holds "
          f"{', '.join(missing)}.") from e
    with zipfile.ZipFile(archive) as z:
      for filename in missing:
        member = f"{dataset.archive_dir}/{filename}" if dataset.archive_dir else filename
        with z.open(member) as src, open(target / filename, "wb") as dst:
          shutil.copyfileobj(src, dst)
