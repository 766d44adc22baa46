"""The `make demo` finale: the Recommendation API on the shop world, with a web page.

    demo.run(export_root, world_dir, port=8500, rest_port=8501)

Starts the server on the recsys export (item attributes from the world's items.csv),
loads the world's interactions into the history store as if they had arrived through
RecordEvents, prints recommendations for a few users beside their recent history,
then serves `GET /demo?user=<id>` on the REST port — the user's history and
recommendations with the item pictures (`/demo/images/...` from the world folder) —
until Ctrl-C.
"""

from __future__ import annotations

import csv
import html
import pathlib
import signal
import tempfile
import threading
import urllib.parse

from serving.core import errors
from serving.protos.trellis.serving.v1 import recommendation_service_pb2 as pb
from serving.recommendation import server_main
from serving.recommendation.history_store import Event

DEMO_USERS = 4


def load_world_history(store, world_dir: pathlib.Path) -> list[str]:
  """Records the world's interactions in the store; returns users, most active first."""
  counts: dict[str, int] = {}
  batch = []
  with (world_dir / "interactions.csv").open(newline="") as f:
    for row in csv.DictReader(f):
      batch.append(Event(row["user_id"], row["item_id"], int(row["timestamp"]), "interaction",
                         float(row["rating"]) if row.get("rating") else None))
      counts[row["user_id"]] = counts.get(row["user_id"], 0) + 1
  store.append(batch)
  return sorted(counts, key=lambda u: (-counts[u], u))


def _card(item_id: str, items, note: str = "") -> str:
  item = items.get(item_id) if items else None
  title = html.escape(item.title if item else item_id)
  img = f'<img src="/demo/{urllib.parse.quote(item.image_path)}" alt="{title}">' if item else ""
  meta = html.escape(f"{item.category} · ${item.price:.2f}" if item else "")
  return (f'<figure class="item" data-item-id="{html.escape(item_id)}">{img}<figcaption>{title}'
          f'<br><small>{meta} {html.escape(note)}</small></figcaption></figure>')


def render_page(recommender, user_id: str, users: list[str], k: int = 8) -> str:
  """One user's recent history and top-k recommendations, as a self-contained HTML page."""
  items = recommender.items
  try:
    response = recommender.recommend(pb.RecommendRequest(user_id=user_id, k=k), api="rest")
    history = list(response.history_item_ids)
    recs = "".join(_card(i.item_id, items, f"score {i.score:.3f}") for i in response.items)
    version = f"model {response.model.name} v{response.model.version} ({response.model.version_label})"
  except errors.ServingError as e:
    history, recs, version = [], f'<p class="error">{html.escape(e.message)}</p>', ""
  nav = " ".join(f'<a href="/demo?user={urllib.parse.quote(u)}">{html.escape(u)}</a>' for u in users)
  return f"""<!doctype html><html><head><meta charset="utf-8"><title>trellis recommendations</title>
<style>body{{font-family:sans-serif;margin:2em}}.row{{display:flex;flex-wrap:wrap;gap:12px}}
.item{{width:140px;margin:0}}.item img{{width:128px;height:128px;image-rendering:pixelated}}</style></head>
<body><h1>Recommendations for <span id="user">{html.escape(user_id)}</span></h1><p>{nav}</p>
<p id="version">{html.escape(version)}</p>
<h2>Recent history (oldest first)</h2><div class="row" id="history">{"".join(_card(i, items) for i in history)}</div>
<h2>Recommended</h2><div class="row" id="recommendations">{recs}</div></body></html>"""


def _routes(running, world_dir: pathlib.Path, users: list[str]):
  images = (world_dir / "images").resolve()

  def page(path: str, raw: bytes):
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    user = query.get("user", [users[0] if users else ""])[0]
    return 200, "text/html; charset=utf-8", render_page(running.recommender, user, users[:12]).encode()

  def image(path: str, raw: bytes):
    rel = urllib.parse.unquote(urllib.parse.urlsplit(path).path[len("/demo/"):])
    target = (world_dir / rel).resolve()
    if not target.is_relative_to(images) or not target.is_file():  # no escaping the folder
      raise errors.not_found(f"no image {rel!r} in the shop world")
    return 200, "image/png", target.read_bytes()

  rest = running.server.rest
  rest.add_route("GET", "/demo", page)
  rest.add_route("GET", "/", page)
  rest.add_route("GET", "/demo/images/", image)


def start(export_root: str, world_dir: str, port: int = 8500, rest_port: int = 8501,
          history_db: str | None = None, extra_args: tuple[str, ...] = ()):
  """Starts the demo server; returns (running server, demo users). Caller stops it."""
  world_dir = pathlib.Path(world_dir)
  history_db = history_db or str(pathlib.Path(tempfile.mkdtemp(prefix="trellis_demo_")) / "history.sqlite")
  running = server_main.start([
      f"--export_root={export_root}", f"--port={port}", f"--rest_port={rest_port}",
      f"--items_csv={world_dir / 'items.csv'}", f"--history_db={history_db}", *extra_args])
  users = load_world_history(running.recommender.store, world_dir)
  # Routes added after start: the route table is read per request.
  _routes(running, world_dir, users)
  return running, users


def run(export_root: str, world_dir: str, port: int = 8500, rest_port: int = 8501) -> None:
  running, users = start(export_root, world_dir, port, rest_port)
  rec = running.recommender
  for user in users[:DEMO_USERS]:
    response = rec.recommend(pb.RecommendRequest(user_id=user, k=5))
    print(f"\n{user} (model v{response.model.version}) recently: "
          + ", ".join(_describe(rec, i) for i in response.history_item_ids[-5:]))
    for n, item in enumerate(response.items, 1):
      print(f"  {n}. {_describe(rec, item.item_id)}  score {item.score:.3f}")
  print(f"\nweb page: http://localhost:{running.server.rest_port}/demo   "
        f"gRPC: localhost:{running.server.port}   (Ctrl-C to stop)", flush=True)
  stop = threading.Event()
  signal.signal(signal.SIGINT, lambda *_: stop.set())
  signal.signal(signal.SIGTERM, lambda *_: stop.set())
  while not stop.wait(1.0):
    pass
  running.stop()


def _describe(rec, item_id: str) -> str:
  item = rec.items.get(item_id) if rec.items else None
  return f"{item.title} [{item.category}]" if item else item_id
