"""Per-version catalogue state: ids, embeddings, attribute arrays and the search index.

Built once when a recsys version loads (the export's `assets/item_ids.txt` and
`assets/candidate_embeddings.npy`), never on the request path and never under a lock
requests take (`version_catalogs.VersionCatalogs` publishes it). The faiss index for a
large catalogue is built in a background thread; `index_ready` is set once the index
is final (built, or failed and staying exact). Until then the version can answer with
exact search, but the server keeps routing to an older ready version if it has one.
`release()` is called when the server unloads the version: the arrays go when the last
in-flight request drops its reference, and an unfinished faiss build is discarded.
"""

from __future__ import annotations

import logging
import pathlib
import threading

import numpy as np

from serving.core.servable import LoadError, Servable
from serving.recommendation import candidate_index, scoring
from serving.recommendation.item_table import ItemTable

log = logging.getLogger(__name__)


class CatalogAssets:
  """What the request path needs about one loaded version's catalogue."""

  def __init__(self, servable: Servable, items: ItemTable | None,
               options: candidate_index.IndexOptions):
    assets = pathlib.Path(servable.path) / "assets"
    ids_file, emb_file = assets / "item_ids.txt", assets / "candidate_embeddings.npy"
    if not ids_file.exists() or not emb_file.exists():
      raise LoadError(f"{servable.path} is not a recsys export: it lacks assets/item_ids.txt or "
                      "assets/candidate_embeddings.npy (export it with //recsys:export)")
    self.version = servable.version
    self.item_ids = np.array(ids_file.read_text().split("\n")[:-1], dtype=object)
    self.embeddings = np.load(emb_file).astype(np.float32)
    if len(self.item_ids) != len(self.embeddings):
      raise LoadError(f"{servable.path}: {len(self.item_ids)} item ids but "
                      f"{len(self.embeddings)} candidate embeddings")
    self.row = {item: i for i, item in enumerate(self.item_ids)}
    try:  # how many recent events the export reads: what to fetch, and what counts as seen
      self.max_history = scoring.max_history(servable.metadata, str(servable.path))
    except ValueError as e:
      raise LoadError(str(e)) from e
    self.candidate_inputs = set(servable.signatures["candidate_embedding"].inputs)
    self.categories = items.categories(self.item_ids) if items else None
    self.prices = items.prices(self.item_ids) if items else None
    self.index: candidate_index.ExactIndex | candidate_index.FaissIndex = candidate_index.ExactIndex(
        self.embeddings)
    self.index_status = "exact"
    self.index_ready = threading.Event()
    self.released = False
    self._options = options
    if len(self.item_ids) > options.exact_limit:
      self.index_status = "building faiss index"
      threading.Thread(target=self._build_ann, name=f"faiss-v{self.version}", daemon=True).start()
    else:
      self.index_ready.set()

  def _build_ann(self) -> None:
    try:
      index = candidate_index.build(self.embeddings, self._options)
    except Exception as e:  # keep serving exactly; the status says why
      log.exception("faiss index build for version %d failed", self.version)
      self.index_status = f"faiss build failed ({e}); serving exact"
      self.index_ready.set()
      return
    if not self.released:  # unloaded while building: do not keep the index alive
      self.index = index
      self.index_status = (f"{index.name}, recall@{self._options.recall_k} vs exact "
                           f"{index.recall:.3f}, built in {index.build_seconds:.1f} s")
    self.index_ready.set()

  def release(self) -> None:
    """The server unloaded this version: drop what only it holds (see the module doc)."""
    self.released = True

  def __len__(self) -> int:
    return len(self.item_ids)

  def unknown(self, item_ids) -> list[str]:
    return [i for i in item_ids if i not in self.row]

  def rows(self, item_ids) -> np.ndarray:
    return np.array([self.row[i] for i in item_ids], dtype=np.int64)
