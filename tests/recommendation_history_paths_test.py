"""Events reach Recommend by every path: StreamEvents, another replica through a shared
Redis, and batch scoring (`tools/batch_predict --history_db`) reading the same store.

Real servers over localhost on a synthetic recsys export (no training, so it is fast);
the Redis tests start `redis-server` on a free port and skip only if it is not installed.
"""

import csv
import json

import numpy as np
import pytest

from serving.core.errors import ServingError
from serving.recommendation import (
  client_cli,
  history_store,
  redis_server,
  server_main,
  synthetic_export,
)
from serving.recommendation.client import RecommendationClient
from tools import batch_predict

NOW = 1_700_000_000
N = 2000


@pytest.fixture(scope="module")
def export_root(tmp_path_factory):
  root = tmp_path_factory.mktemp("export")
  synthetic_export.write_export(root, N)
  return root


@pytest.fixture
def redis_url(tmp_path):
  try:
    with redis_server.start(tmp_path) as url:
      yield url
  except redis_server.RedisUnavailableError as e:
    pytest.skip(str(e))


def _start(export_root, db):
  return server_main.start([f"--export_root={export_root}", "--port=0", "--rest_port=-1",
                            "--poll_seconds=0", f"--history_db={db}"])


def _items(response):
  return [i.item_id for i in response.items]


ITEMS = [f"item_{i:07d}" for i in (3, 700, 1500, 42, 999)]


def test_stream_events_feeds_the_next_recommend_and_stores_batches_as_they_arrive(
    export_root, tmp_path, capsys):
  running = _start(export_root, tmp_path / "h.sqlite")
  try:
    with RecommendationClient(f"localhost:{running.server.port}") as c:
      batches = [[("s1", ITEMS[0], NOW), ("s2", ITEMS[1], NOW)], [("s1", ITEMS[2], NOW + 5)]]
      assert c.stream_events(iter(batches)) == 3
      response = c.recommend(user_id="s1", k=5, request_time=NOW + 10)
      assert list(response.history_item_ids) == [ITEMS[0], ITEMS[2]]
      assert not {ITEMS[0], ITEMS[2]} & set(_items(response))
      assert list(c.recommend(user_id="s2", k=5).history_item_ids) == [ITEMS[1]]
      # A malformed batch ends the stream; the batch before it is stored, it is not.
      with pytest.raises(ServingError) as e:
        c.stream_events([[("s3", ITEMS[3], NOW)], [("s3", ITEMS[4], NOW), ("s3", "no_such_item", NOW)]])
      assert e.value.code.name == "INVALID_ARGUMENT" and "not in the catalogue" in e.value.message
      assert list(c.recommend(user_id="s3", k=5).history_item_ids) == [ITEMS[3]]
    # The CLI streams a CSV (the shop world's interactions.csv columns) in batches.
    (tmp_path / "events.csv").write_text("user_id,item_id,timestamp,rating\n" + "".join(
        f"c{i % 3},{ITEMS[i]},{NOW + i},4\n" for i in range(5)))
    target = f"--server=localhost:{running.server.port}"
    assert client_cli.main([target, "events", f"--csv={tmp_path / 'events.csv'}",
                            "--batch_size=2"]) == 0
    assert json.loads(capsys.readouterr().out) == {"accepted": 5}
    with RecommendationClient(f"localhost:{running.server.port}") as c:
      assert list(c.recommend(user_id="c1", k=5).history_item_ids) == [ITEMS[1], ITEMS[4]]
    (tmp_path / "bad.csv").write_text("user,item\nu,i\n")
    with pytest.raises(SystemExit, match=r"lacks column\(s\) \['item_id', 'timestamp', 'user_id'\]"):
      client_cli.main([target, "events", f"--csv={tmp_path / 'bad.csv'}"])
    (tmp_path / "late.csv").write_text(f"user_id,item_id,timestamp\nd1,{ITEMS[0]},{NOW}\n"
                                       f"d1,{ITEMS[1]},{NOW}\nd1,{ITEMS[2]},yesterday\n")
    with pytest.raises(SystemExit, match=r"late.csv line 4: .*the 2 events of the batches before"):
      client_cli.main([target, "events", f"--csv={tmp_path / 'late.csv'}", "--batch_size=1"])
  finally:
    running.stop()


def test_an_event_recorded_on_one_replica_changes_recommend_on_another(export_root, redis_url):
  a, b = _start(export_root, redis_url), _start(export_root, redis_url)
  try:
    with RecommendationClient(f"localhost:{a.server.port}") as on_a, \
         RecommendationClient(f"localhost:{b.server.port}") as on_b:
      with pytest.raises(ServingError, match="has no recorded events"):
        on_b.recommend(user_id="r1", k=5)
      on_a.record_events([("r1", ITEMS[0], NOW)])
      first = on_b.recommend(user_id="r1", k=5, request_time=NOW + 10)
      assert list(first.history_item_ids) == [ITEMS[0]] and ITEMS[0] not in _items(first)
      on_a.record_events([("r1", ITEMS[2], NOW + 1)])
      second = on_b.recommend(user_id="r1", k=5, request_time=NOW + 10)
      assert list(second.history_item_ids) == [ITEMS[0], ITEMS[2]]
      assert _items(second) != _items(first)
      assert _items(on_a.recommend(user_id="r1", k=5, request_time=NOW + 10)) == _items(second)
  finally:
    a.stop()
    b.stop()


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_batch_and_online_agree_when_both_read_the_history_store(export_root, tmp_path, backend,
                                                                 request):
  db = str(tmp_path / "h.sqlite") if backend == "sqlite" else request.getfixturevalue("redis_url")
  running = _start(export_root, db)
  users = {"u1": ITEMS[:2], "u2": ITEMS[1:4], "u3": ITEMS[4:]}
  try:
    with RecommendationClient(f"localhost:{running.server.port}") as c:
      for user, items in users.items():
        c.record_events([(user, item, NOW + i) for i, item in enumerate(items)])
      online = {u: c.recommend(user_id=u, k=5, request_time=NOW + 100) for u in users}
  finally:
    running.stop()
  store = history_store.open_store(db)
  try:
    batch = batch_predict.predict(export_root / "recsys", [{"user_id": u} for u in users], 5,
                                  request_time=NOW + 100, store=store)
  finally:
    store.close()
  for user, response in online.items():
    assert list(response.history_item_ids) == users[user]
    rows = [r for r in batch if r[0] == user]
    assert [r[2] for r in rows] == _items(response)
    np.testing.assert_allclose([r[3] for r in rows], [i.score for i in response.items], rtol=1e-5)
    np.testing.assert_allclose([r[4] for r in rows], [i.rank_score for i in response.items],
                               rtol=1e-5)
  # The CLI with --history_db on a user_id-only CSV writes the same rows.
  (tmp_path / "users.csv").write_text("user_id\n" + "".join(f"{u}\n" for u in users))
  assert batch_predict.main([f"--export_dir={export_root / 'recsys'}",
                             f"--input={tmp_path / 'users.csv'}", f"--output={tmp_path / 'o.csv'}",
                             "--k=5", f"--history_db={db}", f"--request_time={NOW + 100}"]) == 0
  with open(tmp_path / "o.csv", newline="") as f:
    written = [(r["user_id"], int(r["rank"]), r["item_id"]) for r in csv.DictReader(f)]
  assert written == [r[:3] for r in batch]
