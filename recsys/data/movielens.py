"""MovieLens 100K (GroupLens, 1998): 100,000 ratings by 943 users of 1,682 movies.

Read from the unmodified files of the official `ml-100k` folder (u.data, u.item,
u.user and the canonical rating splits u1..u5, ua, ub), each checked against the
sha256 in `common/data/datasets.py` (from the data folder's PROVENANCE.md) before use. The licence forbids
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
from common.data import datasets
from common.data import fingerprint as fingerprint_lib
from recsys.data.interactions import Catalog, Interactions

DATASET = "ml-100k"

CANONICAL_SPLITS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")


def _file(data_dir: str | pathlib.Path | None, name: str) -> pathlib.Path:
  # Verified against the sha256 in common/data/datasets.py; a missing file's error says how to fetch it.
  return datasets.require(data_dir_lib.resolve(data_dir), DATASET, name)


def fingerprint(*files: str) -> fingerprint_lib.Fingerprint:
  """The fingerprint of what was read from `files` (names in the ml-100k folder).

  Every read is verified against the file's published checksum, so the checksums name the data.
  """
  checksums = datasets.get(DATASET).checksums  # file -> (algorithm, digest)
  unknown = [f for f in files if f not in checksums]
  if unknown:
    raise KeyError(f"{unknown} are not files of {DATASET}; its files: {sorted(checksums)}")
  return fingerprint_lib.Fingerprint(DATASET).update(*((f, *checksums[f]) for f in files))


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
