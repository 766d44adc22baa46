"""A throwaway `redis-server` on a free port, for tests (history store, shared replicas).

    with redis_server.start(tmp_path) as url:   # "redis://127.0.0.1:<port>/0"
      store = history_store.open_store(url)

`start` raises `RedisUnavailableError` (tests skip on it, with its message) when the
binary is not installed.
"""

from __future__ import annotations

import contextlib
import pathlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator


class RedisUnavailableError(RuntimeError):
  """redis-server is not installed."""


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@contextlib.contextmanager
def start(workdir: pathlib.Path, attempts: int = 3, timeout: float = 20.0) -> Iterator[str]:
  """Starts redis-server (no persistence) on a free port; yields its URL; stops it after."""
  binary = shutil.which("redis-server")
  if not binary:
    raise RedisUnavailableError("redis-server is not installed (tools/setup/install_redis.sh installs it)")
  import redis
  for _ in range(attempts):  # another process may take the port between pick and bind: retry
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
      try:
        client.ping()
        break
      except redis.exceptions.ConnectionError:
        time.sleep(0.05)
    else:
      proc.kill()
      proc.wait()
      continue
    client.close()
    try:
      yield f"redis://127.0.0.1:{port}/0"
    finally:
      proc.terminate()
      proc.wait()
    return
  raise RuntimeError(f"redis-server did not start on a free port in {attempts} attempts")
