"""text: titles and descriptions carry their category's words, with some confusion."""

import collections

import numpy as np

from common.shopworld import catalog, text

NAMES = [c.name for c in catalog.CATEGORIES]


def _category_word_share(docs, name):
  nouns, adjectives = text.vocabulary(name)
  own = set(nouns + adjectives)
  words = [w.strip(".").lower() for d in docs for w in d.split()]
  return sum(w in own for w in words) / len(words)


def test_every_category_has_its_own_vocabulary():
  assert set(text.CATEGORY_WORDS) == set(NAMES)
  vocabularies = [set(text.vocabulary(n)[0]) | set(text.vocabulary(n)[1]) for n in NAMES]
  for i, a in enumerate(vocabularies):
    for b in vocabularies[i + 1:]:
      assert len(a & b) <= 1  # mostly distinct; a shared word ("organic") is realistic ambiguity


def test_titles_mostly_use_their_category_noun():
  rng = np.random.default_rng(0)
  others = [n for n in NAMES if n != "kitchen"]
  titles = [text.title(rng, "kitchen", "teal", others) for _ in range(400)]
  nouns, _ = text.vocabulary("kitchen")
  own = sum(t.split()[-1] in nouns for t in titles) / len(titles)
  assert 0.65 < own < 0.85  # 25% borrow a noun from another category
  assert all(t.split()[0][0].isupper() for t in titles)  # a brand first
  assert collections.Counter("teal" in t for t in titles)[True] > 150


def test_descriptions_carry_some_category_words_and_are_deterministic():
  others = [n for n in NAMES if n != "garden"]
  docs = [text.description(np.random.default_rng(i), "garden", others) for i in range(200)]
  assert 0.08 < _category_word_share(docs, "garden") < 0.2
  assert _category_word_share(docs, "books") < 0.03
  assert docs[0] == text.description(np.random.default_rng(0), "garden", others)
  assert all(12 <= len(d.split()) <= 30 and d.endswith(".") for d in docs)
