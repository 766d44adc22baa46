"""What a client of each model actually has, read from the shop world's files.

No preprocessing happens here: image file bytes, item texts as written, demand rows in their
own units, and a user's recent item ids with their times. Turning these into model inputs is
the exported graph's job (DESIGN.md idea 1), and the tests check that it does the same in the
server as in process.
"""

from __future__ import annotations

import csv
import io
import pathlib

import numpy as np
from PIL import Image


def _rows(path: pathlib.Path) -> list[dict[str, str]]:
  with open(path, newline="", encoding="utf-8") as f:
    return list(csv.DictReader(f))


def image_bytes(world_dir: pathlib.Path, n: int = 3) -> list[bytes]:
  """The first `n` item pictures as PNG file bytes, plus one re-encoded at another size.

  The odd-sized copy shows the resize happens in the graph: a client may send any picture.
  """
  items = _rows(world_dir / "items.csv")[:n]
  blobs = [(world_dir / item["image_path"]).read_bytes() for item in items]
  picture = Image.open(io.BytesIO(blobs[0])).convert("RGB").resize((45, 61))
  buffer = io.BytesIO()
  picture.save(buffer, format="PNG")
  return [*blobs, buffer.getvalue()]


def texts(world_dir: pathlib.Path, n: int = 3) -> list[str]:
  """Item titles and descriptions as written, plus a string the tokenizer has never seen."""
  items = _rows(world_dir / "items.csv")[:n]
  return [f"{item['title']}. {item['description']}" for item in items] + [
      "Naïve café: wireless headphones, déjà vu!"]


def demand_windows(world_dir: pathlib.Path, lookback: int) -> np.ndarray:
  """Two raw windows [2, lookback, categories] of daily demand: the last days, and a week earlier."""
  rows = _rows(world_dir / "demand.csv")
  values = np.array([[float(v) for k, v in row.items() if k != "date"] for row in rows], np.float32)
  return np.stack([values[-lookback:], values[-lookback - 7:-7]])


def recent_items(world_dir: pathlib.Path, users: int = 2, events: int = 5
                 ) -> list[tuple[str, list[str], list[int]]]:
  """(user_id, recent item ids oldest first, their Unix times) of the first `users` users."""
  by_user: dict[str, list[tuple[int, str]]] = {}
  for row in _rows(world_dir / "interactions.csv"):
    by_user.setdefault(row["user_id"], []).append((int(row["timestamp"]), row["item_id"]))
  out = []
  for user in sorted(by_user)[:users]:
    recent = sorted(by_user[user])[-events:]
    out.append((user, [item for _, item in recent], [t for t, _ in recent]))
  return out
