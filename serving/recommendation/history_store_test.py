"""The history stores keep the newest events per user, in time order, across reopen."""

import pytest

from serving.recommendation import history_store, redis_server
from serving.recommendation.history_store import Event


def _events(user, items, start=100):
  return [Event(user, item, start + i) for i, item in enumerate(items)]


def _check_store(store):
  assert store.history("nobody", 5) == []
  assert store.append(_events("u1", ["a", "b", "c"])) == 3
  # A late event with an older timestamp lands where it happened.
  store.append([Event("u1", "late", 50), Event("u2", "x", 1)])
  assert [e.item_id for e in store.history("u1", 10)] == ["late", "a", "b", "c"]
  assert [e.item_id for e in store.history("u1", 2)] == ["b", "c"]
  # Bounded: max_per_user=5 keeps the newest 5.
  store.append(_events("u1", ["d", "e", "f"], start=200))
  assert [e.item_id for e in store.history("u1", 10)] == ["b", "c", "d", "e", "f"]
  assert [e.item_id for e in store.history("u2", 10)] == ["x"]


def test_sqlite_store_orders_bounds_and_survives_reopen(tmp_path):
  path = tmp_path / "h.sqlite"
  store = history_store.SqliteHistoryStore(path, max_per_user=5)
  _check_store(store)
  store.close()
  reopened = history_store.open_store(str(path), max_per_user=5)
  assert [e.item_id for e in reopened.history("u1", 10)] == ["b", "c", "d", "e", "f"]
  reopened.close()


def test_sqlite_store_rejects_a_zero_bound(tmp_path):
  with pytest.raises(ValueError, match="max_per_user must be >= 1"):
    history_store.SqliteHistoryStore(tmp_path / "h.sqlite", max_per_user=0)


@pytest.fixture
def redis_url(tmp_path):
  try:
    with redis_server.start(tmp_path) as url:  # a free port, so parallel tests cannot collide
      yield url
  except redis_server.RedisUnavailableError as e:
    pytest.skip(str(e))


def test_redis_store_behaves_like_sqlite(redis_url):
  store = history_store.open_store(redis_url, max_per_user=5)
  _check_store(store)
  store.close()


def test_unreachable_redis_says_what_to_do():
  with pytest.raises(ConnectionError, match="start redis-server"):
    history_store.RedisHistoryStore("redis://localhost:1/0")
