"""Where a user's recent interactions live between requests.

`RecordEvents` appends to it; `Recommend` reads the last events back and turns them
into the model's history input with `recsys.features.pad_history`, the same code
training used, so the served query cannot drift from the trained one.

Two backends with one interface:

* `SqliteHistoryStore` (default): one file, embedded, durable across restarts
  (WAL journal, so readers do not block the writer), bounded to the last
  `max_per_user` events of each user.
* `RedisHistoryStore`: one sorted set per user, for several server replicas sharing
  histories; bounded the same way.

Events are ordered by (timestamp, arrival): a late event with an old timestamp lands
where it happened, as `build_examples` orders training histories.
"""

from __future__ import annotations

import abc
import dataclasses
import json
import pathlib
import sqlite3
import threading
from collections.abc import Iterable


@dataclasses.dataclass(frozen=True)
class Event:
  """One interaction, the interaction table's row (user_id,item_id,timestamp[,rating])."""

  user_id: str
  item_id: str
  timestamp: int  # Unix seconds
  event_type: str = ""
  rating: float | None = None


class HistoryStore(abc.ABC):
  """Append-only, per-user bounded event log."""

  max_per_user: int

  @abc.abstractmethod
  def append(self, events: Iterable[Event]) -> int:
    """Stores events; returns how many were stored."""

  @abc.abstractmethod
  def history(self, user_id: str, limit: int) -> list[Event]:
    """The user's last `limit` events, oldest first ([] for an unknown user)."""

  def close(self) -> None:  # noqa: B027 -- most stores hold a connection; a plain one need not
    """Releases the connection."""


class SqliteHistoryStore(HistoryStore):
  """SQLite file store; safe to share between the server's handler threads."""

  def __init__(self, path: str | pathlib.Path, max_per_user: int = 200):
    if max_per_user < 1:
      raise ValueError(f"max_per_user must be >= 1, got {max_per_user}")
    self.path = pathlib.Path(path)
    self.path.parent.mkdir(parents=True, exist_ok=True)
    self.max_per_user = max_per_user
    self._lock = threading.Lock()
    # One connection behind a lock: SQLite serialises writers anyway, and reads
    # are index lookups of a few rows.
    self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
    self._db.execute("PRAGMA journal_mode=WAL")
    self._db.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; WAL survives a crash
    self._db.execute(
        "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL,"
        " item_id TEXT NOT NULL, ts INTEGER NOT NULL, event_type TEXT, rating REAL)")
    self._db.execute("CREATE INDEX IF NOT EXISTS events_user ON events (user_id, ts, seq)")

  def append(self, events: Iterable[Event]) -> int:
    rows = [(e.user_id, e.item_id, int(e.timestamp), e.event_type, e.rating) for e in events]
    if not rows:
      return 0
    users = sorted({r[0] for r in rows})
    with self._lock:
      self._db.execute("BEGIN")
      try:
        self._db.executemany(
            "INSERT INTO events (user_id, item_id, ts, event_type, rating) VALUES (?, ?, ?, ?, ?)", rows)
        for user in users:  # keep the newest max_per_user events of each touched user
          self._db.execute(
              "DELETE FROM events WHERE user_id = ? AND seq NOT IN (SELECT seq FROM events "
              "WHERE user_id = ? ORDER BY ts DESC, seq DESC LIMIT ?)", (user, user, self.max_per_user))
        self._db.execute("COMMIT")
      except BaseException:
        self._db.execute("ROLLBACK")
        raise
    return len(rows)

  def history(self, user_id: str, limit: int) -> list[Event]:
    with self._lock:
      rows = self._db.execute(
          "SELECT item_id, ts, event_type, rating FROM events WHERE user_id = ? "
          "ORDER BY ts DESC, seq DESC LIMIT ?", (user_id, limit)).fetchall()
    return [Event(user_id, item, ts, kind or "", rating) for item, ts, kind, rating in reversed(rows)]

  def close(self) -> None:
    with self._lock:
      self._db.close()


class RedisHistoryStore(HistoryStore):
  """Redis store: a sorted set per user scored by timestamp (ties keep arrival order)."""

  def __init__(self, url: str, max_per_user: int = 200, prefix: str = "trellis:history:"):
    import redis  # optional dependency: only this backend needs it
    self.max_per_user = max_per_user
    self.prefix = prefix
    self._redis = redis.Redis.from_url(url)
    try:
      self._redis.ping()
    except redis.exceptions.ConnectionError as e:
      raise ConnectionError(f"cannot reach Redis at {url} ({e}); start redis-server "
                            "(tools/setup/install_redis.sh installs it) or use the SQLite store") from e

  def append(self, events: Iterable[Event]) -> int:
    events = list(events)
    pipe = self._redis.pipeline(transaction=True)
    for e in events:
      seq = self._redis.incr(self.prefix + "seq")
      member = json.dumps([e.item_id, int(e.timestamp), e.event_type, e.rating, seq])
      # Score: timestamp, with the arrival sequence as a tie-breaker in the fraction.
      pipe.zadd(self.prefix + e.user_id, {member: int(e.timestamp) + (seq % 1_000_000) / 1e6})
    for user in {e.user_id for e in events}:
      pipe.zremrangebyrank(self.prefix + user, 0, -self.max_per_user - 1)
    pipe.execute()
    return len(events)

  def history(self, user_id: str, limit: int) -> list[Event]:
    members = self._redis.zrange(self.prefix + user_id, -limit, -1)
    out = []
    for m in members:
      item, ts, kind, rating, _ = json.loads(m)
      out.append(Event(user_id, item, ts, kind, rating))
    return out

  def close(self) -> None:
    self._redis.close()


def open_store(spec: str, max_per_user: int = 200) -> HistoryStore:
  """`redis://host:port/db` -> Redis; anything else is a SQLite file path."""
  if spec.startswith(("redis://", "rediss://", "unix://")):
    return RedisHistoryStore(spec, max_per_user)
  return SqliteHistoryStore(spec, max_per_user)
