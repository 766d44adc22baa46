"""What each domain's export takes from a record and gives back: one small class per domain.

A handler turns one input record into one model input (`prepare`, which raises `BadInput` for
a record the model must not see), runs a batch of prepared inputs through the export's
signature (`run`), and turns each answer into an output record. It holds only plain data
(signature shapes, the catalogue), so Beam can ship it to workers; the loaded model is passed
in by `model_handler.ExportModelHandler`.

    domain      input fields                                   output fields
    vision      image (bytes) | image/encoded | image_b64 |    class_id, class_name,
                image_path (local or gs://)                    probabilities, embedding
    text        text                                           label, label_id, probabilities
    timeseries  window: [lookback][series] (nested list, JSON  forecast: [horizon][series]
                text, or flat list of lookback*series values)
    recsys      user_id, history (space-separated item ids,    k rows: user_id, rank,
                oldest first) [, history_times] [, timestamp]  item_id, score, rank_score
                -- or, with --signature=candidate_embedding --
                item_id [, text] [, image | image_path]        item_id, embedding

A record's key is its `key` field, else the domain's natural id (image_path, user_id,
item_id), else a fingerprint of the record, so every output and dead letter can be traced.
"""

from __future__ import annotations

import base64
import hashlib
import json

import numpy as np

from serving.recommendation import history_store, scoring
from tools.batch import export_reader, formats
from tools.batch.dead_letters import BadInput

DOMAINS = ("vision", "text", "timeseries", "recsys")


def _key(record: dict, fields: tuple[str, ...]) -> str:
  for field in ("key", *fields):
    value = record.get(field)
    if value not in (None, "", b""):
      return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
  return "sha1:" + hashlib.sha1(repr(sorted(record.items())).encode(), usedforsecurity=False
                                ).hexdigest()[:16]


def _to_list(value):
  return np.asarray(value).tolist()


def _read_image(record: dict) -> bytes:
  """The image bytes a record carries or points to."""
  import tensorflow as tf

  for field in ("image", "image/encoded", "image_bytes"):
    if field in record:
      value = record[field]
      return formats.field_bytes(value) if isinstance(value, str) else bytes(value)
  if "image_b64" in record:
    try:
      return base64.b64decode(record["image_b64"], validate=True)
    except (ValueError, TypeError) as e:
      raise BadInput(f"image_b64 is not base64: {e}") from None
  if "image_path" in record:
    path = str(record["image_path"])
    if not tf.io.gfile.exists(path):
      raise BadInput(f"image_path {path} does not exist")
    with tf.io.gfile.GFile(path, "rb") as f:
      return f.read()
  raise BadInput(f"record has no image field (image, image/encoded, image_b64 or image_path); "
                 f"it has {sorted(record)}")


def _signature_input_shape(meta: dict, signature: str, name: str) -> list:
  try:
    return meta["signatures"][signature]["inputs"][name]["shape"]
  except KeyError:
    raise ValueError(f"export {meta.get('model_name')} has no input {name!r} in signature "
                     f"{signature!r}; its signatures are {sorted(meta.get('signatures', {}))}"
                     ) from None


class Handler:
  """Thin base: the fields of one domain's records and the signature(s) that score them."""

  domain = ""
  key_fields: tuple[str, ...] = ()
  output_fields: tuple[str, ...] = ()

  def key(self, record: dict) -> str:
    return _key(record, self.key_fields)

  def prepare(self, record: dict):
    raise NotImplementedError

  def run(self, loaded, batch: list) -> list[dict]:
    raise NotImplementedError

  def rows(self, key: str, answer: dict) -> list[dict]:
    """The output records of one scored input (one, except for recsys' top k)."""
    return [{"key": key, **answer}]


class Vision(Handler):
  """Encoded image bytes → the top class and the embedding (signatures `classify`, `embed`)."""

  domain = "vision"
  key_fields = ("image_path", "item_id", "id")
  output_fields: tuple[str, ...] = ("key", "class_id", "class_name", "probabilities", "embedding")

  def __init__(self, meta: dict):
    _signature_input_shape(meta, "classify", "image_bytes")
    self.has_embed = "embed" in meta["signatures"]
    if not self.has_embed:
      self.output_fields = self.output_fields[:-1]  # no embedding column

  def prepare(self, record):
    blob = _read_image(record)
    if not blob:
      raise BadInput("image bytes are empty")
    return blob

  def run(self, loaded, batch):
    import tensorflow as tf

    images = tf.constant(batch, tf.string)
    c = {k: v.numpy() for k, v in loaded.signatures["classify"](image_bytes=images).items()}
    e = loaded.signatures["embed"](image_bytes=images)["embedding"].numpy() if self.has_embed else None
    out = []
    for i in range(len(batch)):
      row = {"class_id": int(c["class_ids"][i]), "class_name": c["class_names"][i].decode(),
             "probabilities": _to_list(c["probabilities"][i])}
      if e is not None:
        row["embedding"] = _to_list(e[i])
      out.append(row)
    return out


class Text(Handler):
  """A raw string → its class (signature `classify`; tokenization is inside the export)."""

  domain = "text"
  key_fields = ("id", "item_id")
  output_fields: tuple[str, ...] = ("key", "label", "label_id", "probabilities")

  def __init__(self, meta: dict):
    _signature_input_shape(meta, "classify", "text")

  def prepare(self, record):
    if "text" not in record:
      raise BadInput(f"record has no text field; it has {sorted(record)}")
    value = record["text"]
    raw = formats.field_bytes(value) if isinstance(value, str) else bytes(value)
    try:
      raw.decode("utf-8")
    except UnicodeDecodeError as e:
      raise BadInput(f"text is not valid UTF-8 ({e.reason} at byte {e.start}); re-encode the "
                     "input as UTF-8") from None
    return raw

  def run(self, loaded, batch):
    import tensorflow as tf

    r = {k: v.numpy() for k, v in loaded.signatures["classify"](text=tf.constant(batch)).items()}
    return [{"label": r["label"][i].decode(), "label_id": int(r["label_id"][i]),
             "probabilities": _to_list(r["probabilities"][i])} for i in range(len(batch))]


class Timeseries(Handler):
  """A raw window of values [lookback, series] → the forecast [horizon, series]."""

  domain = "timeseries"
  key_fields = ("id", "series", "date")
  output_fields: tuple[str, ...] = ("key", "forecast")

  def __init__(self, meta: dict):
    shape = _signature_input_shape(meta, "forecast", "window") or [None, None, None]
    # An export may leave the dimensions open so that its own checks name the expected window
    # (trellis's forecaster does); then the model refuses a wrong shape, alone (model_handler).
    self.lookback, self.series = (int(d) if d is not None and d > 0 else None for d in shape[1:3])

  def prepare(self, record):
    if "window" not in record:
      raise BadInput(f"record has no window field; it has {sorted(record)}")
    value = record["window"]
    if isinstance(value, str):
      try:
        value = json.loads(value)
      except json.JSONDecodeError as e:
        raise BadInput(f"window is not a JSON list: {e}") from None
    try:
      window = np.asarray(value, np.float32)
    except (ValueError, TypeError) as e:
      raise BadInput(f"window is not a rectangular list of numbers: {e}") from None
    known = self.lookback is not None and self.series is not None
    if known and window.ndim == 1 and window.size == self.lookback * self.series:
      window = window.reshape(self.lookback, self.series)
    if window.ndim != 2 or (known and window.shape != (self.lookback, self.series)):
      want = f"[{self.lookback}, {self.series}]" if known else "[days][series]"
      raise BadInput(f"window has shape {list(window.shape)}; this model takes {want} (lookback "
                     "days x series)")
    if not np.isfinite(window).all():
      bad = np.argwhere(~np.isfinite(window))[0].tolist()
      raise BadInput(f"window has NaN or infinity (first at [day, series] = {bad}); fill the gap "
                     "before forecasting")
    return window

  def run(self, loaded, batch):
    import tensorflow as tf

    f = loaded.signatures["forecast"](window=tf.constant(np.stack(batch)))["forecast"].numpy()
    return [{"forecast": _to_list(f[i])} for i in range(len(batch))]


class RecsysRecommend(Handler):
  """A user's recent item ids → the top-k items (signature `recommend`, as the online API)."""

  domain = "recsys"
  key_fields = ("user_id",)
  output_fields: tuple[str, ...] = ("user_id", "rank", "item_id", "score", "rank_score")

  def __init__(self, meta: dict, item_ids: list[str], k: int, request_time: int,
               history_db: str = "", store=None):
    self.max_history = scoring.max_history(meta, meta.get("model_name") or "the export")
    if not 1 <= k <= len(item_ids):
      raise ValueError(f"--k={k} must be between 1 and the catalogue size {len(item_ids)}")
    self.known = frozenset(item_ids)
    self.k, self.request_time, self.history_db = k, request_time, history_db
    self._store = store  # an open history_store.HistoryStore (in process), else opened lazily

  def _stored_history(self, user: str) -> tuple[list[str], list[int]]:
    if not self.history_db and self._store is None:
      return [], []
    if self._store is None:
      self._store = history_store.open_store(self.history_db)
    events = self._store.history(user, self.max_history)
    return [e.item_id for e in events], [e.timestamp for e in events]

  def __getstate__(self):
    return self.__dict__ | {"_store": None}  # a store connection does not travel to workers

  def prepare(self, record):
    user = str(record.get("user_id") or "")
    if not user:
      raise BadInput(f"record has no user_id; it has {sorted(record)}")
    try:
      now = int(record.get("timestamp") or self.request_time)
    except ValueError:
      raise BadInput(f"timestamp {record.get('timestamp')!r} is not Unix seconds") from None
    history = record.get("history")
    if isinstance(history, bytes):
      history = history.decode("utf-8", "replace")
    if history:
      ids = history.split() if isinstance(history, str) else [
          h.decode() if isinstance(h, bytes) else str(h) for h in history]
      times = record.get("history_times")
      if times in (None, "", []):
        times = [now] * len(ids)
      else:
        try:
          times = [int(t) for t in (times.split() if isinstance(times, str) else times)]
        except ValueError:
          raise BadInput("history_times are not integers (Unix seconds)") from None
        if len(times) != len(ids):
          raise BadInput(f"history has {len(ids)} items but history_times has {len(times)}")
    else:
      ids, times = self._stored_history(user)
      if not ids:
        where = f"in --history_db {self.history_db}" if self.history_db else "(no --history_db)"
        raise BadInput(f"unknown user {user!r}: the record has no history and none is stored "
                       f"{where}")
    unknown = [i for i in ids if i not in self.known]
    if unknown:
      raise BadInput(f"history has item ids that are not in the catalogue: {unknown[:5]}")
    return user, ids, times, now

  def run(self, loaded, batch):
    import tensorflow as tf

    users, histories, times, now = zip(*batch, strict=True)
    inputs = scoring.query_inputs(users, histories, times, now)
    r = loaded.signatures["recommend"](**{k: tf.constant(v) for k, v in inputs.items()},
                                       k=tf.constant(self.k, tf.int32))
    r = {k: v.numpy() for k, v in r.items()}
    return [{"user_id": users[i], "item_ids": [s.decode() for s in r["item_ids"][i]],
             "scores": _to_list(r["scores"][i]), "rank_scores": _to_list(r["rank_scores"][i])}
            for i in range(len(batch))]

  def rows(self, key, answer):
    """One row per (user, rank), the shape a table of recommendations has (and the old CSV had)."""
    return [{"user_id": answer["user_id"], "rank": r + 1, "item_id": item, "score": score,
             "rank_score": rank_score}
            for r, (item, score, rank_score) in enumerate(zip(
                answer["item_ids"], answer["scores"], answer["rank_scores"], strict=True))]


class RecsysItems(Handler):
  """An item's id, text and picture → its candidate embedding (signature `candidate_embedding`)."""

  domain = "recsys"
  key_fields = ("item_id",)
  output_fields: tuple[str, ...] = ("key", "item_id", "embedding")

  def __init__(self, meta: dict):
    self.inputs = sorted(meta["signatures"]["candidate_embedding"]["inputs"])

  def prepare(self, record):
    if not record.get("item_id"):
      raise BadInput(f"record has no item_id; it has {sorted(record)}")
    out = {"item_id": formats.field_bytes(str(record["item_id"]))}
    if "text" in self.inputs:
      text = record.get("text")
      if text is None and "title" in record:
        raise BadInput("record has title but no text; pass the text the recommender was trained "
                       "on in a text field")
      out["text"] = formats.field_bytes(text) if isinstance(text, str) else bytes(text or b"")
    if "image" in self.inputs:
      out["image"] = _read_image(record)
    return out

  def run(self, loaded, batch):
    import tensorflow as tf

    inputs = {name: tf.constant([b[name] for b in batch], tf.string) for name in self.inputs}
    e = loaded.signatures["candidate_embedding"](**inputs)["embedding"].numpy()
    return [{"item_id": b["item_id"].decode(), "embedding": _to_list(e[i])}
            for i, b in enumerate(batch)]


def domain_of(meta: dict) -> str:
  """Which handler an export needs, from the signatures its metadata lists."""
  sigs = meta.get("signatures", {})
  if "recommend" in sigs or "candidate_embedding" in sigs:
    return "recsys"
  if "forecast" in sigs:
    return "timeseries"
  classify = sigs.get("classify", {}).get("inputs", {})
  if "image_bytes" in classify:
    return "vision"
  if "text" in classify:
    return "text"
  raise ValueError(f"export {meta.get('model_name')} has signatures {sorted(sigs)}; batch "
                   f"prediction knows the {', '.join(DOMAINS)} exports (classify on image_bytes "
                   "or text, forecast, recommend/candidate_embedding)")


def for_export(meta: dict, version_dir: str, *, signature: str = "", k: int = 10,
               request_time: int = 0, history_db: str = "") -> Handler:
  """The handler for an export (its metadata and version directory) and the job's options."""
  domain = domain_of(meta)
  if domain == "vision":
    return Vision(meta)
  if domain == "text":
    return Text(meta)
  if domain == "timeseries":
    return Timeseries(meta)
  if signature in ("", "recommend"):
    ids = export_reader.read_asset(version_dir, "item_ids.txt").decode().split("\n")
    return RecsysRecommend(meta, [i for i in ids if i], k, request_time, history_db)
  if signature == "candidate_embedding":
    return RecsysItems(meta)
  raise ValueError(f"--signature={signature!r}: a recsys export is run with recommend (user "
                   "histories -> top k) or candidate_embedding (items -> embeddings)")

