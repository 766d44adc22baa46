"""MovieLens 100K (GroupLens, 1998): 100,000 ratings by 943 users of 1,682 movies.

Read from the unmodified files of the official `ml-100k` folder (u.data, u.item,
u.user and the canonical rating splits u1..u5, ua, ub), each checked against the
sha256 in the data folder's PROVENANCE.md before use. The licence forbids
redistribution: the files are read from `--data_dir`, never copied. That folder is local by
design (common/data/data_dir.py refuses a URL), so plain file reads are used here.

Items have no pictures; their text is the title and the genres
("Toy Story (1995). Animation, Children's, Comedy"), their category the first
genre listed.
"""

from __future__ import annotations

import pathlib

import numpy as np

from common.data import data_dir as data_dir_lib
from common.data import download
from recsys.data.interactions import Catalog, Interactions

DATASET = "ml-100k"

# sha256 of the files as GroupLens released them (../shared/data/ml-100k/PROVENANCE.md).
SHA256 = {
    "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
    "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
    "u.user": "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c",
    "u.genre": "9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb",
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
    "ua.base": "67b5bcdb380c29f85d56a012ecd88612ae020f30a6730d117a334ee8203b91f2",
    "ua.test": "d0497e202417720f57a184ec8c66be2d1afa4ff41bb53787c57b28d6bf79bc42",
    "ub.base": "237254d253b6ad7de84f919d041055428646254f34ed8f562703c899430cd881",
    "ub.test": "d54a72d05730d5892062734b2bec73e976f9b713d18c828a18b968d6cce442da",
}

CANONICAL_SPLITS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")

_HINT = ("Place the unmodified MovieLens 100K folder (https://grouplens.org/datasets/movielens/100k/) "
         "at <data_dir>/ml-100k, or pass --data_dir pointing at its parent.")


def _file(data_dir: str | pathlib.Path | None, name: str) -> pathlib.Path:
  root = data_dir_lib.resolve(data_dir)
  path = data_dir_lib.require(root / DATASET, name, hint=_HINT)
  download.verify_sha256(path, SHA256[name])
  return path


def _read_text(data_dir: str | pathlib.Path | None, name: str) -> str:
  # MovieLens files are latin-1 (u.item has 12 non-ASCII bytes, e.g. accented titles), not UTF-8.
  return _file(data_dir, name).read_text(encoding="latin-1")  # local: data_dir.resolve refuses URLs


def _read_ratings(path: pathlib.Path) -> Interactions:
  raw = np.loadtxt(path, dtype=np.int64, delimiter="\t", ndmin=2)
  if raw.shape[1] != 4:
    raise ValueError(f"{path}: expected 4 tab-separated columns (user item rating timestamp)")
  return Interactions(
      user_id=raw[:, 0].astype(str).astype(object),
      item_id=raw[:, 1].astype(str).astype(object),
      timestamp=raw[:, 3],
      rating=raw[:, 2].astype(np.float32))


def load_ratings(data_dir: str | pathlib.Path | None = None) -> Interactions:
  """All 100,000 ratings (u.data)."""
  return _read_ratings(_file(data_dir, "u.data"))


def load_split(name: str, data_dir: str | pathlib.Path | None = None) -> tuple[Interactions, Interactions]:
  """One of the canonical splits as (base, test): u1..u5 (80/20 folds) or ua/ub (10 per user)."""
  if name not in CANONICAL_SPLITS:
    raise ValueError(f"unknown MovieLens split {name!r}; choose one of {', '.join(CANONICAL_SPLITS)}")
  return (_read_ratings(_file(data_dir, f"{name}.base")),
          _read_ratings(_file(data_dir, f"{name}.test")))


def load_catalog(data_dir: str | pathlib.Path | None = None) -> Catalog:
  """The 1,682 movies with title + genres as text and the first genre as category."""
  genres = [line.split("|")[0] for line in
            _read_text(data_dir, "u.genre").splitlines() if line]
  ids, texts, cats = [], [], []
  for lineno, line in enumerate(_read_text(data_dir, "u.item").splitlines(), 1):
    fields = line.split("|")
    if len(fields) != 5 + len(genres):
      raise ValueError(f"u.item:{lineno}: expected {5 + len(genres)} fields, found {len(fields)}")
    flags = [g for g, f in zip(genres, fields[5:], strict=True) if f == "1"] or ["unknown"]
    ids.append(fields[0])
    texts.append(f"{fields[1]}. {', '.join(flags)}")
    cats.append(flags[0])
  return Catalog(item_id=np.array(ids, dtype=object), text=np.array(texts, dtype=object),
                 category=np.array(cats, dtype=object))


def load_users(data_dir: str | pathlib.Path | None = None) -> dict[str, dict[str, str]]:
  """user_id -> {age, gender, occupation, zip} from u.user (context features and slices)."""
  users = {}
  for line in _read_text(data_dir, "u.user").splitlines():
    uid, age, gender, occupation, zipcode = line.split("|")
    users[uid] = {"age": age, "gender": gender, "occupation": occupation, "zip": zipcode}
  return users
