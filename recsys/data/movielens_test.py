"""MovieLens files are found through the checksum registry; their fingerprint names what was read.

No MovieLens data is needed: the errors and the fingerprint come before any file is read.
"""

import pytest

from common.data import data_dir as data_dir_lib
from common.data import datasets
from recsys.data import movielens


def test_every_file_the_loader_reads_has_a_registered_checksum():
  files = datasets.get(movielens.DATASET).checksums
  for split in movielens.CANONICAL_SPLITS:
    assert f"{split}.base" in files and f"{split}.test" in files
  assert {"u.data", "u.item", "u.genre", "u.user"} <= set(files)


def test_fingerprint_names_the_files_read():
  ratings = str(movielens.fingerprint("u.data", "u.item", "u.genre"))
  assert ratings.startswith("ml-100k:")
  assert ratings == str(movielens.fingerprint("u.data", "u.item", "u.genre"))
  assert ratings != str(movielens.fingerprint("u1.base", "u1.test", "u.item", "u.genre"))
  with pytest.raises(KeyError, match=r"\['u9.base'\] are not files of ml-100k"):
    movielens.fingerprint("u9.base")


def test_a_missing_folder_says_how_to_fetch_it(tmp_path):
  with pytest.raises(data_dir_lib.DataNotFoundError, match=r"bazel run //common/data:fetch -- ml-100k"):
    movielens.load_catalog(tmp_path)


def test_an_unknown_split_is_named(tmp_path):
  with pytest.raises(ValueError, match="unknown MovieLens split 'u7'"):
    movielens.load_split("u7", tmp_path)
