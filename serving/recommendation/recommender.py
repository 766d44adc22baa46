"""The Recommendation API's logic, independent of the wire (gRPC, REST, batch).

Each method takes and returns `trellis.serving.v1` messages. It picks the version
(labels and the canary split), builds the user's raw history (stored events, then the
request's recent items) and runs the export's signatures on it through the serving core's
`Inference` (so metrics and errors are the server's). The export windows and pads the
history itself (its signature contract), so this module holds no feature code; it only
reads from the export's metadata how many recent events the model reads (`max_history`),
which are the items it answers as the history and counts as seen. Retrieval is the export's in-graph exact
`recommend` when nothing needs more than it offers; filters, diversity, extra
exclusions and large catalogues go through the query embedding and the server's
candidate index instead.

Versions: a new version's catalogue (and faiss index) is built when it loads, in the
version watcher's thread and outside any lock requests take (`version_catalogs`).
Requests that name no version go to the newest version whose catalogue and index are
ready, so while version 2 builds, version 1 keeps answering at its usual latency; the
watcher retires version 1 only after that, and its catalogue is released then.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time

import grpc
import numpy as np

from serving.core import errors
from serving.core.inference import Inference
from serving.core.servable import LoadError, Servable
from serving.protos.trellis.serving.v1 import recommendation_service_pb2 as pb
from serving.recommendation import candidate_index, diversity, scoring
from serving.recommendation.catalog_assets import CatalogAssets
from serving.recommendation.history_store import Event, HistoryStore
from serving.recommendation.item_table import ItemTable
from serving.recommendation.traffic import TrafficSplit
from serving.recommendation.version_catalogs import VersionCatalogs

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Limits:
  """Request sizes the server accepts (bad clients must not take it down)."""

  max_k: int = 1000
  max_events: int = 1000  # per RecordEvents request
  max_candidates: int = 1000  # per Rank request
  max_recent: int = 1000  # recent_item_ids per request
  retrieve_factor: int = 5  # diversity / rerank retrieve k * this before re-selecting
  max_id_bytes: int = 256  # a user or item id (UTF-8)


# google.protobuf.Timestamp's range: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
_TIMESTAMP_SECONDS = (-62135596800, 253402300799)


def _finite(field: str, value: float) -> None:
  if not math.isfinite(value):
    raise errors.invalid_argument(f"{field} is {value}; send a finite number")


def _request_time(request) -> int:
  """A Recommend/Rank request's "now" in Unix seconds: its `request_time` when the field is
  present (presence, not value: 0 is 1970-01-01, a real time), else the server's clock."""
  return request.request_time if request.HasField("request_time") else int(time.time())


class _Checks:
  """Request-field validation shared by every front (gRPC, REST, batch): each problem is
  INVALID_ARGUMENT naming the field, before any work is done."""

  def __init__(self, limits: Limits):
    self.limits = limits

  def ids(self, field: str, values) -> None:
    for i, value in enumerate(values if not isinstance(values, str) else [values]):
      size = len(value.encode("utf-8", "surrogatepass"))
      if size > self.limits.max_id_bytes:
        where = field if isinstance(values, str) else f"{field}[{i}]"
        raise errors.invalid_argument(
            f"{where} is {size} bytes, over the limit of {self.limits.max_id_bytes}; ids are "
            "short keys, not payloads")

  def history(self, request) -> None:
    self.ids("user_id", request.user_id)
    self.ids("recent_item_ids", request.recent_item_ids)

  def recommend(self, request: pb.RecommendRequest) -> None:
    self.history(request)
    self.ids("exclude_item_ids", request.exclude_item_ids)
    mmr = request.diversity.mmr_lambda
    if not 0.0 <= mmr <= 1.0:  # NaN fails every comparison
      raise errors.invalid_argument(
          f"diversity.mmr_lambda is {mmr}; it weighs relevance against diversity, so send a "
          "number in [0, 1] (0 = off)")
    if request.diversity.max_per_category < 0:
      raise errors.invalid_argument(
          f"diversity.max_per_category is {request.diversity.max_per_category}; send >= 0 (0 = off)")
    f = request.filter
    for name in ("min_price", "max_price"):
      if f.HasField(name):
        _finite(f"filter.{name}", getattr(f, name))
    if f.HasField("min_price") and f.HasField("max_price") and f.min_price > f.max_price:
      raise errors.invalid_argument(
          f"filter.min_price {f.min_price} is above filter.max_price {f.max_price}; swap them")

  def event(self, e: pb.Event) -> str | None:
    """The problem with one event's fields, or None."""
    try:
      self.ids("user_id", e.user_id)
      self.ids("item_id", e.item_id)
      if e.HasField("rating"):
        _finite("rating", e.rating)
    except errors.ServingError as err:
      return err.message
    if not e.HasField("timestamp"):  # presence, not value: 0 is 1970-01-01, a real time
      return "timestamp is missing (set it to when the interaction happened)"
    low, high = _TIMESTAMP_SECONDS
    if not low <= e.timestamp.seconds <= high or not 0 <= e.timestamp.nanos < 1_000_000_000:
      return (f"timestamp ({e.timestamp.seconds} s, {e.timestamp.nanos} ns) is outside "
              "google.protobuf.Timestamp's range; send Unix seconds")
    return None


class Recommender:
  """Serves one recsys model name from the server's registry."""

  def __init__(self, inference: Inference, model_name: str, store: HistoryStore,
               items: ItemTable | None = None, split: TrafficSplit = TrafficSplit(),
               index_options: candidate_index.IndexOptions = candidate_index.IndexOptions(),
               limits: Limits = Limits()):
    self.inference = inference
    self.model_name = model_name
    self.store = store
    self.items = items
    self.split = split
    self.index_options = index_options
    self.limits = limits
    self._checks = _Checks(limits)
    self.catalogs = VersionCatalogs(self._build_assets, self._is_loaded)
    self._closed = threading.Event()
    inference.registry.add_listener(self._on_registry_change)
    self._on_registry_change(model_name)

  # -- versions -----------------------------------------------------------------------------
  def _build_assets(self, servable: Servable) -> CatalogAssets:
    return CatalogAssets(servable, self.items, self.index_options)

  def _is_loaded(self, version: int) -> bool:
    return version in self.inference.registry.available_versions(self.model_name)

  def _on_registry_change(self, name: str) -> None:
    """Builds the catalogue of versions that loaded and releases those that unloaded.

    Runs in the thread that changed the registry (the version watcher's), so a new
    version is fully prepared before the watcher retires the one it replaces.
    """
    if name != self.model_name:
      return
    available = self.inference.registry.available_versions(name)
    self.catalogs.retain(available)
    for version in available:
      if self.catalogs.published(version) is not None:
        continue
      try:
        assets = self.assets(self.inference.registry.resolve(name, version))
      except (errors.ServingError, LoadError) as e:
        log.error("recsys version %d: %s", version, e)
        continue
      self._await_index(assets)

  def _await_index(self, assets: CatalogAssets) -> None:
    """Waits for a new version's faiss index while an older ready version answers."""
    if assets.index_ready.is_set() or not any(
        a.index_ready.is_set() for v, a in self.catalogs.items() if v != assets.version):
      return  # nothing else to answer with: the version answers exactly while its index builds
    log.info("recsys version %d: older versions keep answering until its index is built",
             assets.version)
    while not assets.index_ready.wait(0.5) and not self._closed.is_set():
      pass

  def close(self) -> None:
    """Stops waiting for index builds (call before stopping the server)."""
    self._closed.set()

  def assets(self, servable: Servable) -> CatalogAssets:
    """The version's catalogue assets (built on first use if the listener has not yet)."""
    return self.catalogs.get(servable)

  def _default_version(self) -> int | None:
    """The newest loaded version whose catalogue and index are ready (None: newest loaded)."""
    ready = [v for v, a in self.catalogs.items() if a.index_ready.is_set()]
    loaded = set(self.inference.registry.available_versions(self.model_name)) if ready else set()
    ready = [v for v in ready if v in loaded]
    return max(ready) if ready else None

  def _servable(self, version: int | None) -> Servable:
    if version is not None:
      return self.inference.registry.resolve(self.model_name, version)
    routed = self._default_version()
    if routed is not None:
      try:
        return self.inference.registry.resolve(self.model_name, routed)
      except errors.ServingError:  # unloaded since we looked: take the newest instead
        pass
    return self.inference.registry.resolve(self.model_name)

  def _resolve(self, ref: pb.ModelRef, user_id: str) -> tuple[Servable, CatalogAssets, pb.ModelRef]:
    if ref.name and ref.name != self.model_name:
      raise errors.not_found(f"the Recommendation API serves model {self.model_name!r}, not "
                             f"{ref.name!r}; leave model.name empty")
    version, label = self.split.pick(user_id, ref.version, ref.version_label)
    servable = self._servable(version)
    try:
      assets = self.assets(servable)
    except LoadError as e:
      raise errors.ServingError(grpc.StatusCode.FAILED_PRECONDITION, str(e)) from e
    return servable, assets, pb.ModelRef(name=self.model_name, version=servable.version,
                                         version_label=label)

  def _run(self, servable: Servable, signature: str, inputs: dict, api: str) -> dict:
    _, _, out = self.inference.predict(self.model_name, servable.version, signature, inputs, api=api)
    return out

  def status(self) -> dict:
    """Per version: catalogue size and index state (with the faiss recall once measured)."""
    return {v: {"items": len(a), "index": a.index_status, "recall": a.index.recall}
            for v, a in self.catalogs.items()}

  # -- history ------------------------------------------------------------------------------
  def _history(self, assets: CatalogAssets, user_id: str, recent: list[str], recent_times: list[int],
               now: int) -> tuple[list[str], list[int]]:
    if len(recent) > self.limits.max_recent:
      raise errors.invalid_argument(f"{len(recent)} recent_item_ids, over the limit of "
                                    f"{self.limits.max_recent}; send the most recent ones only")
    if recent_times and len(recent_times) != len(recent):
      raise errors.invalid_argument(
          f"recent_timestamps has {len(recent_times)} entries but recent_item_ids has {len(recent)}; "
          "send one Unix-seconds time per item, or none")
    unknown = assets.unknown(recent)
    if unknown:
      raise errors.invalid_argument(
          f"recent_item_ids has {len(unknown)} item id(s) not in model version {assets.version}'s "
          f"catalogue: {unknown[:10]}; remove them (new items enter the catalogue on the next export)")
    ids, times = [], []
    if user_id:
      for e in self.store.history(user_id, assets.max_history):
        if e.item_id in assets.row:  # a stored item a newer version dropped is skipped
          ids.append(e.item_id)
          times.append(e.timestamp)
    ids += list(recent)
    times += list(recent_times) or [now] * len(recent)
    if not ids:
      who = f"user {user_id!r} has no recorded events" if user_id else "the request has no user_id"
      raise errors.not_found(f"{who} and recent_item_ids is empty, so there is nothing to "
                             "personalise on; send recent_item_ids or record events with RecordEvents")
    return ids, times

  def _fetch(self, k: int, widen: bool, dropped: int, available: int) -> int:
    """How many candidates to retrieve so that `k` remain to answer with.

    Args:
      k: items the request asks for.
      widen: diversity or reranking re-selects, so retrieve `retrieve_factor` times k.
      dropped: candidates the caller will drop after retrieval (exclusions, seen items).
      available: candidates there are; never ask for more.
    """
    return min((k * self.limits.retrieve_factor if widen else k) + dropped, available)

  # -- RPCs ---------------------------------------------------------------------------------
  def recommend(self, request: pb.RecommendRequest, api: str = "grpc") -> pb.RecommendResponse:
    self._checks.recommend(request)
    servable, assets, ref = self._resolve(request.model, request.user_id)
    max_k = min(self.limits.max_k, len(assets))
    if not 1 <= request.k <= max_k:
      raise errors.invalid_argument(f"k={request.k} is out of range: ask for 1..{max_k} items "
                                    f"(the server's cap and the catalogue size)")
    now = _request_time(request)
    ids, times = self._history(assets, request.user_id, list(request.recent_item_ids),
                               list(request.recent_timestamps), now)
    inputs = scoring.query_inputs([request.user_id], [ids], [times], [now])
    seen = set(ids[-assets.max_history:])  # the window the export reads and excludes
    exclude = set(request.exclude_item_ids)
    has_filter = request.HasField("filter") and (
        request.filter.categories or request.filter.HasField("min_price")
        or request.filter.HasField("max_price"))
    diverse = request.diversity.mmr_lambda > 0 or request.diversity.max_per_category > 0
    in_graph = (assets.index.kind == "exact" and not has_filter and not diverse
                and not request.include_seen and request.k + len(exclude) <= len(assets) - len(seen))
    if in_graph:
      fetch = self._fetch(request.k, request.rerank, len(exclude), len(assets) - len(seen))
      out = self._run(servable, "recommend", inputs | {"k": np.array(fetch, np.int32)}, api)
      item_ids = out["item_ids"][0].astype(str)
      scores, rank_scores = out["scores"][0], out["rank_scores"][0]
      keep = np.array([i not in exclude for i in item_ids], bool)
      item_ids, scores, rank_scores = item_ids[keep], scores[keep], rank_scores[keep]
      if request.rerank:
        order = np.argsort(-rank_scores, kind="stable")
        item_ids, scores, rank_scores = item_ids[order], scores[order], rank_scores[order]
      item_ids, scores, rank_scores = item_ids[:request.k], scores[:request.k], rank_scores[:request.k]
      index_kind = "exact"
    else:
      item_ids, scores, rank_scores, index_kind = self._retrieve(
          servable, assets, request, inputs, seen, exclude, has_filter, diverse, api)
    response = pb.RecommendResponse(model=ref, history_item_ids=ids[-assets.max_history:],
                                    index=index_kind)
    for item, score, rank_score in zip(item_ids, scores, rank_scores, strict=True):
      response.items.append(self._scored(item, score, rank_score))
    return response

  def _allowed(self, assets: CatalogAssets, request: pb.RecommendRequest) -> np.ndarray:
    if assets.categories is None:
      raise errors.ServingError(grpc.StatusCode.FAILED_PRECONDITION,
                                "filters need item attributes; start the server with --items_csv")
    f = request.filter
    allowed = np.ones(len(assets), bool)
    if f.categories:
      known = set(assets.categories) - {""}
      unknown = sorted(set(f.categories) - known)
      if unknown:
        raise errors.invalid_argument(f"unknown categories {unknown}; known: {sorted(known)}")
      allowed &= np.isin(assets.categories, list(f.categories))
    if f.HasField("min_price"):
      allowed &= assets.prices >= f.min_price
    if f.HasField("max_price"):
      allowed &= assets.prices <= f.max_price
    return allowed

  def _retrieve(self, servable, assets, request, inputs, seen, exclude, has_filter, diverse, api):
    q = self._run(servable, "query_embedding", inputs, api)["embedding"][0]
    drop = set(exclude) | (set() if request.include_seen else seen)
    allowed = None
    if has_filter:
      allowed = self._allowed(assets, request)
      allowed[assets.rows([i for i in drop if i in assets.row])] = False
      if not allowed.any():
        raise errors.not_found(
            "no item matches the filter (categories "
            f"{list(request.filter.categories) or 'any'}, price "
            f"{request.filter.min_price if request.filter.HasField('min_price') else '-inf'}.."
            f"{request.filter.max_price if request.filter.HasField('max_price') else 'inf'}) after "
            "excluding seen and excluded items; widen the filter")
    k = request.k
    # A filter mask already leaves the dropped items out; otherwise they come back and are dropped.
    fetch = self._fetch(k, diverse or request.rerank, 0 if allowed is not None else len(drop),
                        len(assets))
    rows, scores = assets.index.search(q, fetch, allowed)
    keep = np.array([assets.item_ids[r] not in drop for r in rows], bool)
    rows, scores = rows[keep], scores[keep]
    if request.diversity.mmr_lambda > 0:
      pos = diversity.mmr(scores, assets.embeddings[rows], len(rows), request.diversity.mmr_lambda)
      rows, scores = rows[pos], scores[pos]
    if request.diversity.max_per_category > 0:
      if assets.categories is None:
        raise errors.ServingError(grpc.StatusCode.FAILED_PRECONDITION,
                                  "max_per_category needs item attributes; start the server with --items_csv")
      pos = diversity.category_cap(np.arange(len(rows)), assets.categories[rows], len(rows),
                                   request.diversity.max_per_category)
      rows, scores = rows[pos], scores[pos]
    if not request.rerank:
      rows, scores = rows[:k], scores[:k]
    ids = assets.item_ids[rows].astype(str)
    rank_scores = np.zeros(0, np.float32)
    if len(ids):
      rank_scores = self._run(servable, "rank", inputs | {
          "candidate_ids": ids.astype(object)[None, :]}, api)["scores"][0]
    if request.rerank:
      order = np.argsort(-rank_scores, kind="stable")[:k]
      ids, scores, rank_scores = ids[order], scores[order], rank_scores[order]
    return ids, scores, rank_scores, assets.index.kind

  def _scored(self, item_id: str, score: float, rank_score: float = 0.0) -> pb.ScoredItem:
    out = pb.ScoredItem(item_id=item_id, score=float(score), rank_score=float(rank_score))
    if self.items and (item := self.items.get(item_id)):
      out.category, out.price = item.category, item.price
    return out

  def similar_items(self, request: pb.SimilarItemsRequest, api: str = "grpc") -> pb.SimilarItemsResponse:
    self._checks.ids("item_id", request.item_id)
    self._checks.ids("exclude_item_ids", request.exclude_item_ids)
    servable, assets, ref = self._resolve(request.model, "")
    max_k = min(self.limits.max_k, len(assets) - 1)
    if not 1 <= request.k <= max_k:
      raise errors.invalid_argument(f"k={request.k} is out of range: ask for 1..{max_k} items")
    drop = set(request.exclude_item_ids)
    if request.HasField("content"):
      c = request.content
      if not (c.title or c.description):
        raise errors.invalid_argument("content needs a title or a description to embed the item")
      inputs = {"item_id": np.array([request.item_id], dtype=object)}
      if "text" in assets.candidate_inputs:
        inputs["text"] = np.array([f"{c.title}. {c.description}"], dtype=object)
      if "image" in assets.candidate_inputs:
        if not c.image:
          raise errors.invalid_argument("this model version has an image tower: content.image "
                                        "needs the item's encoded PNG/JPEG bytes")
        inputs["image"] = np.array([c.image], dtype=object)
      q = self._run(servable, "candidate_embedding", inputs, api)["embedding"][0]
    elif request.item_id:
      if request.item_id not in assets.row:
        raise errors.not_found(f"item {request.item_id!r} is not in model version {assets.version}'s "
                               "catalogue; send its content (title, description, image) instead")
      q = assets.embeddings[assets.row[request.item_id]]
      drop.add(request.item_id)
    else:
      raise errors.invalid_argument("send item_id (a catalogue item) or content (a new item)")
    rows, scores = assets.index.search(q, request.k + len(drop))
    response = pb.SimilarItemsResponse(model=ref)
    for r, s in zip(rows, scores, strict=True):
      if assets.item_ids[r] not in drop and len(response.items) < request.k:
        response.items.append(self._scored(str(assets.item_ids[r]), s))
    return response

  def rank(self, request: pb.RankRequest, api: str = "grpc") -> pb.RankResponse:
    self._checks.history(request)
    self._checks.ids("candidate_item_ids", request.candidate_item_ids)
    servable, assets, ref = self._resolve(request.model, request.user_id)
    candidates = list(request.candidate_item_ids)
    if not candidates:
      raise errors.invalid_argument("candidate_item_ids is empty; send the items to rank")
    if len(candidates) > self.limits.max_candidates:
      raise errors.invalid_argument(f"{len(candidates)} candidates, over the limit of "
                                    f"{self.limits.max_candidates}; rank in several requests")
    unknown = assets.unknown(candidates)
    if unknown:
      raise errors.invalid_argument(f"candidate_item_ids has {len(unknown)} id(s) not in the "
                                    f"catalogue: {unknown[:10]}")
    now = _request_time(request)
    ids, times = self._history(assets, request.user_id, list(request.recent_item_ids),
                               list(request.recent_timestamps), now)
    inputs = scoring.query_inputs([request.user_id], [ids], [times], [now])
    scores = self._run(servable, "rank", inputs | {
        "candidate_ids": np.array([candidates], dtype=object)}, api)["scores"][0]
    response = pb.RankResponse(model=ref)
    for i in np.argsort(-scores, kind="stable"):
      response.items.append(self._scored(candidates[i], scores[i], scores[i]))
    return response

  def record_events(self, request: pb.RecordEventsRequest) -> pb.RecordEventsResponse:
    events = list(request.events)
    if not events:
      raise errors.invalid_argument("no events; send at least one Event")
    if len(events) > self.limits.max_events:
      raise errors.invalid_argument(f"{len(events)} events in one request, over the limit of "
                                    f"{self.limits.max_events}; split them into smaller requests")
    assets = self.assets(self._servable(self.split.stable))
    parsed = []
    for n, e in enumerate(events):  # all-or-nothing: validate every event first
      problem = self._checks.event(e)
      if problem is None:
        if not e.user_id:
          problem = "user_id is empty"
        elif not e.item_id:
          problem = "item_id is empty"
        elif e.item_id not in assets.row:
          problem = f"item_id {e.item_id!r} is not in the catalogue"
      if problem:
        raise errors.invalid_argument(f"event {n}: {problem}; no events of this request were stored")
      parsed.append(Event(e.user_id, e.item_id, e.timestamp.seconds, e.event_type,
                          e.rating if e.HasField("rating") else None))
    return pb.RecordEventsResponse(accepted=self.store.append(parsed))
