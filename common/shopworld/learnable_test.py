"""The category is learnable from pixels and from words: linear models beat chance by far.

Measured on the tiny world (300 items, 70/30 split by item): logistic regression gets about
0.75 on 8x8-pooled pixels and about 0.88 on title bag-of-words, against a majority-class baseline
of about 0.18. On the small world (2,000 items) the same models reach about 0.86 and 0.88.
"""

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from common.shopworld import world


@pytest.fixture(scope="module")
def tiny():
  w = world.generate(seed=0, size="tiny")
  n = int(0.7 * len(w.items))
  y = w.items.category
  majority = np.bincount(y[n:]).max() / len(y[n:])
  return w, n, y, majority


def test_pixels_reveal_the_category(tiny):
  w, n, y, majority = tiny
  # 8x8 average pooling keeps shape and colour and keeps the fit fast on a shared 2-core box.
  x = w.items.image.reshape(len(y), 8, 4, 8, 4, 3).mean(axis=(2, 4)).reshape(len(y), -1) / 255.0
  accuracy = LogisticRegression(max_iter=300).fit(x[:n], y[:n]).score(x[n:], y[n:])
  assert accuracy > max(0.5, 2.5 * majority), accuracy


def test_title_words_reveal_the_category(tiny):
  w, n, y, majority = tiny
  vectorizer = CountVectorizer().fit(w.items.title[:n])
  model = LogisticRegression(max_iter=1000).fit(vectorizer.transform(w.items.title[:n]), y[:n])
  accuracy = model.score(vectorizer.transform(w.items.title[n:]), y[n:])
  assert accuracy > max(0.6, 3 * majority), accuracy
  assert accuracy < 0.99  # but not trivially: 25% of titles borrow another category's noun


def test_price_depends_on_category(tiny):
  w, _, y, _ = tiny
  names = w.categories
  median = {names[c]: np.median(w.items.price[y == c]) for c in np.unique(y)}
  assert median["furniture"] > 4 * median["groceries"]
