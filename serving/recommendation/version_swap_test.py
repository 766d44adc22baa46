"""Hot reload on a real server: requests stay prompt while a new version's catalogue and
index build, the old version answers until the new one is ready, then it is released.

The synthetic export (3000 items, `--exact_limit=1000`, so each version builds a faiss
index) makes the test fast; gates hold version 2's catalogue load and its index build
open for as long as the test checks the request path.
"""

import gc
import shutil
import threading
import time
import weakref

from serving.recommendation import candidate_index, server_main, synthetic_export
from serving.recommendation import recommender as recommender_lib
from serving.recommendation.client import RecommendationClient

N = 3000


def test_requests_stay_prompt_while_a_new_version_builds_then_the_old_one_is_released(
    tmp_path, monkeypatch):
  root = tmp_path / "export"
  ids = synthetic_export.write_export(root, N)
  gates = {"catalogue": threading.Event(), "index": threading.Event()}
  entered = {"catalogue": threading.Event(), "index": threading.Event()}
  real_assets, real_build = recommender_lib.CatalogAssets, candidate_index.build

  class SlowAssets(real_assets):  # stands for np.load + the id dict of a 1M-item catalogue
    def __init__(self, servable, *args, **kwargs):
      if servable.version == 2:
        entered["catalogue"].set()
        assert gates["catalogue"].wait(120)
      super().__init__(servable, *args, **kwargs)

  def slow_build(embeddings, options):  # stands for a faiss build of minutes
    if threading.current_thread().name == "faiss-v2":
      entered["index"].set()
      assert gates["index"].wait(120)
    return real_build(embeddings, options)

  monkeypatch.setattr(recommender_lib, "CatalogAssets", SlowAssets)
  monkeypatch.setattr(candidate_index, "build", slow_build)
  running = server_main.start([f"--export_root={root}", "--port=0", "--rest_port=-1",
                               "--poll_seconds=0", f"--history_db={tmp_path / 'h.sqlite'}",
                               "--exact_limit=1000"])
  poll = None
  try:
    catalogs = running.recommender.catalogs
    assert catalogs.published(1).index_ready.wait(120)
    v1 = weakref.ref(catalogs.published(1))
    v1_index = weakref.ref(catalogs.published(1).index)
    shutil.copytree(root / "recsys" / "1", root / "recsys" / "2")
    poll = threading.Thread(target=running.server.watcher.poll_once)  # loads v2, retires v1
    poll.start()
    with RecommendationClient(f"localhost:{running.server.port}", timeout=10) as c:
      for phase in ("catalogue", "index"):
        assert entered[phase].wait(120), f"version 2 never reached its {phase} build"
        latencies = []
        for i in range(20):
          start = time.perf_counter()
          response = c.recommend(recent_item_ids=list(ids[i:i + 3]), k=5)
          latencies.append(time.perf_counter() - start)
          assert (response.model.version, response.index) == (1, "faiss"), phase
        # Milliseconds when idle; 1 s leaves room for a loaded machine, none for a
        # request waiting on the (gated, unbounded) build.
        assert max(latencies) < 1.0, (phase, latencies)
        if phase == "index":
          status = running.recommender.status()
          assert sorted(status) == [1, 2] and status[2]["index"] == "building faiss index"
        gates[phase].set()
      poll.join(120)
      assert not poll.is_alive()
      response = c.recommend(recent_item_ids=list(ids[:3]), k=5)
      assert (response.model.version, response.index) == (2, "faiss")
    assert sorted(running.recommender.status()) == [2]
    gc.collect()
    assert v1() is None and v1_index() is None  # version 1's catalogue and faiss index are freed
  finally:
    for gate in gates.values():
      gate.set()
    if poll is not None:
      poll.join(120)
    running.stop()
