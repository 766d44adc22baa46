"""Real-time personalisation: a burst of fresh events in a new category reorders the answer.

A new user whose history is one category (its most popular items) records, through the
running Recommendation API's `RecordEvents`, a burst of events in a category they never
touched and that their top-10 does not hold. The very next `Recommend` call must rank items
of that category inside the top-10: the query tower reads the stored history at request
time, so fresh events change the ranking, not only the scores.

The recommender is the real one (`recsys.train` + `recsys.export` with the demo's config,
minus the image tower to save time) on the small shop world, as in `make demo`: the tiny
world's ~2,300 training examples are too few for the towers to learn to read the history
reliably (measured: whether a burst entered the top-10 swung from 0 to 10 of 10 categories
between epochs). The server is `serving.recommendation.server_main` in its own process.
"""

from __future__ import annotations

import collections
import csv

import pytest
from google.protobuf import timestamp_pb2

from common.shopworld import world as shopworld
from serving.protos.trellis.serving.v1 import recommendation_service_pb2 as pb
from serving.protos.trellis.serving.v1 import recommendation_service_pb2_grpc as pb_grpc
from tests import model_server

K = 10
HISTORY = 8  # events of the user before the burst
BURST = 6  # fresh events in the new category: the model then still sees 2 of the old taste


@pytest.fixture(scope="module")
def world(tmp_path_factory):
  directory = tmp_path_factory.mktemp("world")
  shopworld.generate(seed=0, size="small").write(directory, overwrite=True)
  return directory


@pytest.fixture(scope="module")
def server(world, tmp_path_factory):
  from recsys import export, train
  from recsys.configs import default

  cfg = default.get_config()
  cfg.image_tower = False  # the text tower carries content; the image tower would only cost time
  cfg.verbose = 0
  cfg.data.path = str(world)
  run = train.train_and_evaluate(cfg, str(tmp_path_factory.mktemp("recsys")))
  export_root = tmp_path_factory.mktemp("exports")
  export.export_run(cfg, run, str(export_root), "recsys")
  logs = tmp_path_factory.mktemp("server")
  proc = model_server.ServerProcess(
      "serving.recommendation.server_main", export_root, logs / "server.log",
      "--models=recsys", "--recsys_model=recsys", f"--items_csv={world / 'items.csv'}",
      f"--history_db={logs / 'history.sqlite'}")
  yield proc
  assert proc.stop() == 0


def _record(stub, user: str, items: list[str], times: list[int]) -> None:
  response = stub.RecordEvents(pb.RecordEventsRequest(events=[
      pb.Event(user_id=user, item_id=i, timestamp=timestamp_pb2.Timestamp(seconds=t))
      for i, t in zip(items, times, strict=True)]), timeout=model_server.TIMEOUT)
  assert response.accepted == len(items)


def _recommend(stub, user: str, now: int) -> list[str]:
  response = stub.Recommend(pb.RecommendRequest(user_id=user, k=K, request_time=now),
                            timeout=model_server.TIMEOUT)
  return [i.item_id for i in response.items]


def test_burst_in_an_untouched_category_enters_the_top10(server, world):
  with (world / "items.csv").open(newline="") as f:
    category = {row["item_id"]: row["category"] for row in csv.DictReader(f)}
  with (world / "interactions.csv").open(newline="") as f:
    events = [(r["user_id"], r["item_id"], int(r["timestamp"])) for r in csv.DictReader(f)]
  popularity = collections.Counter(item for _, item, _ in events)
  by_category = collections.defaultdict(list)  # most popular first
  for item, _ in popularity.most_common():
    by_category[category[item]].append(item)
  # A user with one clear taste: the most popular items of the first category, an hour apart.
  taste = sorted(by_category)[0]
  items = by_category[taste][:HISTORY]
  start = max(t for _, _, t in events) - 3600 * HISTORY
  times = [start + 3600 * n for n in range(len(items))]

  stub = pb_grpc.RecommendationServiceStub(server.channel)
  user = "realtime_user"  # new to the server: its history is exactly what this test records
  _record(stub, user, items, times)
  before = _recommend(stub, user, times[-1] + 3600)
  untouched = sorted({*category.values()} - {taste} - {category[i] for i in before})
  assert untouched, f"the top-{K} of a {taste!r}-only history spans every other category"
  new = untouched[0]

  burst = by_category[new][:BURST]
  burst_times = [times[-1] + 86_400 + 60 * n for n in range(len(burst))]
  _record(stub, user, burst, burst_times)
  after = _recommend(stub, user, burst_times[-1] + 60)

  assert not [i for i in before if category[i] == new]  # the precondition, checked above
  entered = [i for i in after if category[i] == new]
  assert entered, (f"after {len(burst)} events in {new!r} the top-{K} holds no {new!r} item: "
                   f"{[category[i] for i in after]}")
  assert not set(after) & set(burst)  # what was just bought is not offered again
