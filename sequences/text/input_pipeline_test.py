"""Repeatable hash splits and k-fold cross-validation."""

import numpy as np
import pytest

from sequences.text import data as data_lib
from sequences.text import input_pipeline


def _data(n=400):
  texts = [f"text number {i}" for i in range(n)] + ["duplicate"] * 2
  return data_lib.TextDataset("t", texts, np.arange(n + 2, dtype=np.int32) % 3, list(texts),
                             ["a", "b", "c"], "fp")


def test_hash_split_is_a_function_of_the_key_not_the_order():
  data = _data()
  parts = input_pipeline.hash_split(data)
  shuffled = data.subset(np.random.default_rng(0).permutation(len(data.texts)))
  again = input_pipeline.hash_split(shuffled)
  for name in parts:
    assert set(parts[name].keys) == set(again[name].keys)
  assert sum(len(p.texts) for p in parts.values()) == len(data.texts)
  assert not set(parts["train"].keys) & set(parts["test"].keys)
  assert 0.7 < len(parts["train"].texts) / len(data.texts) < 0.9


def test_duplicate_texts_land_in_the_same_split():
  parts = input_pipeline.hash_split(_data())
  assert [name for name, p in parts.items() if "duplicate" in p.keys] != []
  assert sum(p.keys.count("duplicate") for p in parts.values() if "duplicate" in p.keys) == 2
  assert len([p for p in parts.values() if "duplicate" in p.keys]) == 1


def test_kfold_tests_every_record_once_and_never_trains_on_it():
  data = _data()
  folds = input_pipeline.kfold(data, 5)
  tested = [k for _, test in folds for k in test.keys]
  assert sorted(tested) == sorted(data.keys)
  for train, test in folds:
    assert not set(train.keys) & set(test.keys)
    assert 40 < len(test.texts) < 120  # about a fifth


def test_kfold_needs_two_folds():
  with pytest.raises(ValueError, match="at least 2 folds"):
    input_pipeline.kfold(_data(), 1)
