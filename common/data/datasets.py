"""The real datasets trellis reads: where each file comes from and the checksum it must have.

The one registry of published checksums: every domain's loader reads its files' checksums here.

    path = datasets.require(data_dir, "ett", "ETTh1.csv")   # verified; else says how to get it
    datasets.verify("cifar10", "test_batch", path_or_bytes)  # any file, or bytes read from an archive

    bazel run //common/data:fetch -- ett            # fetch into --data_dir (or the default)

The hashes are the ones the datasets' publishers list (or, for the real data under ../shared/data,
those recorded in each dataset's PROVENANCE.md). Most are sha256; a source that publishes only md5
(CIFAR-10) keeps its md5s, in `Dataset.md5`. A file is verified the first time a process asks for
it, so a truncated copy or another version of a dataset is caught before it turns into a quietly
different result.
"""

import dataclasses
import hashlib
import os
import pathlib
import shutil
import tarfile
import tempfile
import zipfile

from common.data import data_dir as data_dir_lib
from common.data import download, files

_CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True)
class Dataset:
  """One dataset: its files' published checksums and where they come from.

  Attributes:
    name: the folder under the data directory (`<data_dir>/<name>/<file>`).
    homepage: where a person finds the dataset and its terms.
    files: file name -> sha256.
    md5: file name -> md5, for files whose source publishes only an md5 (CIFAR-10).
    base_url: file URLs are base_url + name.
    archive_url: or one archive (.zip or .tar.gz) holding the files under `archive_dir/`.
    archive_dir: the folder inside the archive that holds the files.
    archive_md5: the archive's published md5 ("" when none is published).
    note: terms or limits a user should know.
  """
  name: str
  homepage: str
  files: dict[str, str] = dataclasses.field(default_factory=dict)
  md5: dict[str, str] = dataclasses.field(default_factory=dict)
  base_url: str | None = None
  archive_url: str | None = None
  archive_dir: str = ""
  archive_md5: str = ""
  note: str = ""

  @property
  def checksums(self) -> dict[str, tuple[str, str]]:
    """Every file of the dataset -> (algorithm, hex digest): "sha256" or "md5"."""
    return {**{f: ("sha256", h) for f, h in self.files.items()},
            **{f: ("md5", h) for f, h in self.md5.items()}}

  @property
  def archive_name(self) -> str:
    return self.archive_url.rsplit("/", 1)[-1] if self.archive_url else ""


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
            # The canonical rating splits recsys reads (recsys/data/movielens.py).
            "u1.base": "ce253ec86c448b44fb3ba9a30d12dcfc2e9210cbde71efada3730c22e9ac212a",
            "u1.test": "18c6014a4b2c7324f250a63f8904a7b16b2b19f911129e346141507b0cbac950",
            "u2.base": "6c06f0b5df4b256da1a994f3ac66edc8da4d3f09bc9282df6b14d893366d703e",
            "u2.test": "4de658d1e04ed9104629509a2e2528fce833ac8e048280183f1df167632038c3",
            "u3.base": "afdc155c291c6edc41c0407e39d7462eb98d341e064f0b0a12175b80b3c4af5d",
            "u3.test": "0f548b51c78327de4c156461d3e430b7e5579fe2b5681586a59416e48fd35f6d",
            "u4.base": "219f0f4d40dfe9c5141d425f53fa91ee23ed275f14e280bbf1b50117afb064ca",
            "u4.test": "7c02ad0a1e7ab1083c8b9d4b627203a051dd7b5eab46d99fa44de33470de8db9",
            "u5.base": "a9574e59ce961eec2121627760b6e9b0974ce1637b3fe69ac32cb14a4bfab485",
            "u5.test": "351cc52e0d15b6c721466276fc24671d40936899e3d01fadeaf312915b8c5634",
            "ub.base": "237254d253b6ad7de84f919d041055428646254f34ed8f562703c899430cd881",
            "ub.test": "d54a72d05730d5892062734b2bec73e976f9b713d18c828a18b968d6cce442da",
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
    # The gzipped idx files with the sha256s TensorFlow Datasets lists (tensorflow/datasets,
    # tensorflow_datasets/url_checksums/{mnist,fashion_mnist}.txt); torchvision lists the same
    # files' md5s. Read by vision/data/idx.py.
    "mnist": Dataset(
        name="mnist", homepage="http://yann.lecun.com/exdb/mnist/",
        base_url="https://storage.googleapis.com/cvdf-datasets/mnist/",
        files={
            "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        }),
    "fashion_mnist": Dataset(
        name="fashion_mnist", homepage="https://github.com/zalandoresearch/fashion-mnist",
        base_url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        files={
            "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        }),
    # CIFAR-10's python version publishes only md5s: the archive's on its homepage, the extracted
    # batches' as torchvision (torchvision/datasets/cifar.py) lists them. Read by vision/data/cifar10.py.
    "cifar10": Dataset(
        name="cifar10", homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
        archive_url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        archive_dir="cifar-10-batches-py", archive_md5="c58f30108f718f92721af3b95e74349a",
        md5={
            "data_batch_1": "c99cafc152244af753f735de768cd75f",
            "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
            "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
            "data_batch_4": "634d18415352ddfa80567beed471001a",
            "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
            "test_batch": "40351d587109b95175f43aff81a1287e",
            "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
        }),
}

_verified: set[pathlib.Path] = set()


def get(name: str) -> Dataset:
  """The registry entry for `name`, or an error listing the known datasets."""
  if name not in DATASETS:
    raise KeyError(f"unknown dataset {name!r}; known datasets: {', '.join(sorted(DATASETS))}")
  return DATASETS[name]


def fetch_command(name: str) -> str:
  return f"bazel run //common/data:fetch -- {name}"


def checksum(name: str, filename: str) -> tuple[str, str]:
  """The published (algorithm, hex digest) of one file of dataset `name`, or of its archive."""
  dataset = get(name)
  if filename in dataset.checksums:
    return dataset.checksums[filename]
  if dataset.archive_md5 and filename == dataset.archive_name:
    return "md5", dataset.archive_md5
  raise KeyError(f"dataset {name!r} has no file {filename!r}; its files: {sorted(dataset.checksums)}")


def _digest(algorithm: str, content: str | os.PathLike | bytes) -> str:
  digest = hashlib.new(algorithm, usedforsecurity=False)
  if isinstance(content, bytes):
    digest.update(content)
    return digest.hexdigest()
  with _open(os.fspath(content)) as f:
    while chunk := f.read(_CHUNK):
      digest.update(chunk)
  return digest.hexdigest()


def _exists(path: str) -> bool:
  if files.is_url(path):
    import tensorflow as tf  # lazy: only URLs need TensorFlow; the fetch tool starts without it

    return tf.io.gfile.exists(path)
  return os.path.isfile(path)  # local: no URL scheme


def _open(path: str):
  """The file at `path` for reading bytes: Python's own for local paths, tf.io.gfile for URLs."""
  if files.is_url(path):
    import tensorflow as tf  # lazy: only URLs need TensorFlow; the fetch tool starts without it

    return tf.io.gfile.GFile(path, "rb")
  return open(path, "rb")  # local: no URL scheme


def verify(name: str, filename: str, content: str | os.PathLike | bytes) -> None:
  """Checks one file of dataset `name` against its published checksum (sha256 or md5).

  Args:
    name, filename: the registry entry and the file in it (or the dataset's archive).
    content: the file's path (local or any `tf.io.gfile` location, e.g. gs://) or its bytes
      (a member read out of an archive).

  Raises:
    FileNotFoundError: `content` is a path that does not exist.
    download.ChecksumError: the file is not the published one; the message names it, both
      digests and what to do.
  """
  algorithm, expected = checksum(name, filename)
  where = f"{filename} (bytes)" if isinstance(content, bytes) else os.fspath(content)
  if not isinstance(content, bytes) and not _exists(where):
    raise FileNotFoundError(f"{where} does not exist; expected {name}'s {filename} "
                            f"({algorithm} {expected})")
  actual = _digest(algorithm, content)
  if actual != expected.lower():
    raise download.ChecksumError(
        f"{where} has {algorithm} {actual}, expected {expected.lower()} (published for {name}'s "
        f"{filename}): the file is corrupt, truncated or another version. Delete it and run "
        f"`{fetch_command(name)}`, or copy the right file from {get(name).homepage}.")


def require(data_dir: str | os.PathLike, name: str, filename: str) -> pathlib.Path:
  """`data_dir/<name>/<filename>`, verified against its published checksum (once per process).

  Raises:
    data_dir.DataNotFoundError: the file is missing; says where to place it and the command that
      fetches it.
    download.ChecksumError: the file is there but is not the expected version.
  """
  dataset = get(name)
  if filename not in dataset.checksums:
    raise KeyError(f"dataset {name!r} has no file {filename!r}; its files: {sorted(dataset.checksums)}")
  algorithm, expected = dataset.checksums[filename]
  hint = (f"run `{fetch_command(name)}` (with --data_dir={data_dir} if that is not the default), "
          f"or copy it from {dataset.homepage}; expected {algorithm} {expected}")
  path = data_dir_lib.require(data_dir, f"{name}/{filename}", hint=hint)
  if path.resolve() not in _verified:
    verify(name, filename, path)
    _verified.add(path.resolve())
  return path


def fetch(name: str, data_dir: str | os.PathLike, *, progress: bool = True) -> list[pathlib.Path]:
  """Downloads (or verifies) every file of a dataset into `data_dir/<name>/`.

  Raises:
    download.DownloadError: offline or the server failed; says which files to place where.
    download.ChecksumError: a downloaded file is not the expected version.
  """
  dataset = get(name)
  if "://" in os.fspath(data_dir):  # pathlib would turn gs://b into a local folder gs:/b
    raise ValueError(
        f"fetch downloads into a local directory, not {os.fspath(data_dir)}; fetch into a local "
        "--data_dir, then copy it up (e.g. `gcloud storage cp -r`): readers take gs:// paths")
  target = pathlib.Path(data_dir) / name
  missing = [f for f in dataset.checksums if not (target / f).is_file()]
  if missing and dataset.archive_url:
    _fetch_archive(dataset, target, missing, progress)
  paths = []
  for filename, (algorithm, digest) in dataset.checksums.items():
    if dataset.base_url and not (target / filename).is_file():
      if algorithm == "sha256":
        download.fetch(dataset.base_url + filename, target / filename, digest, progress=progress)
      else:
        download.fetch_unverified(dataset.base_url + filename, target / filename, progress=progress)
    verify(name, filename, target / filename)
    paths.append(target / filename)
  return paths


def _fetch_archive(dataset: Dataset, target: pathlib.Path, missing: list[str], progress: bool):
  target.mkdir(parents=True, exist_ok=True)
  with tempfile.TemporaryDirectory(dir=target) as tmp:
    archive = pathlib.Path(tmp) / dataset.archive_name
    try:
      download.fetch_unverified(dataset.archive_url, archive, progress=progress)
    except download.DownloadError as e:
      raise download.DownloadError(
          f"{e}\nOr unpack {dataset.archive_url} by hand so that {target} holds "
          f"{', '.join(missing)}.") from e
    if dataset.archive_md5:
      verify(dataset.name, dataset.archive_name, archive)
    members = {f: f"{dataset.archive_dir}/{f}" if dataset.archive_dir else f for f in missing}
    if zipfile.is_zipfile(archive):
      with zipfile.ZipFile(archive) as z:
        for filename, member in members.items():
          with z.open(member) as src, open(target / filename, "wb") as dst:
            shutil.copyfileobj(src, dst)
    else:  # .tar.gz (CIFAR-10)
      with tarfile.open(archive, "r:*") as tar:
        for filename, member in members.items():
          with tar.extractfile(member) as src, open(target / filename, "wb") as dst:
            shutil.copyfileobj(src, dst)
