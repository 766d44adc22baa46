"""The shop world: generate it from a seed, keep its ground truth, write it in real-data formats.

    from common.shopworld import world as shopworld
    w = shopworld.generate(seed=0, size="small")   # ~10 s on 2 cores; "tiny" ~1 s for tests
    w.write("/tmp/world")

Everything is a pure function of (seed, size): each part draws from its own child stream of
`np.random.SeedSequence(seed)`, so the same seed writes the same bytes, and changing how one part
is generated does not reshuffle the others. The files written:

    items.csv         item_id,title,description,category,price,image_path
    users.csv         user_id,signup_date,region
    interactions.csv  user_id,item_id,timestamp,rating    (Unix seconds, ratings 1..5)
    demand.csv        date,<one column per category>       (units sold per day)
    promotions.csv    date,category                        (days a promotion runs)
    images/<category>/<item_id>.png, images.tfrecord (ImageNet schema, label = category index),
    labels.txt        category names, line i is label i
    truth.json        the generating parameters (tastes, popularity, demand parameters...)
"""

import calendar
import dataclasses
import datetime
import json
import os

import numpy as np
from tqdm import tqdm

from common.data import csv_reader
from common.data import files as file_io
from common.shopworld import catalog, demand, images, interactions, text, users

START_DATE = datetime.date(2022, 1, 1)
OUTPUTS = ("items.csv", "users.csv", "interactions.csv", "demand.csv", "promotions.csv",
           "images", "images.tfrecord", "labels.txt", "truth.json")


@dataclasses.dataclass(frozen=True)
class Size:
  num_items: int
  num_users: int
  num_days: int
  mean_events: float   # mean interactions per user
  image_size: int = 32


SIZES = {
    "tiny": Size(num_items=300, num_users=150, num_days=400, mean_events=20),
    "small": Size(num_items=2000, num_users=1000, num_days=1095, mean_events=40),
    "medium": Size(num_items=10_000, num_users=10_000, num_days=1095, mean_events=50),
}


@dataclasses.dataclass
class WorldTruth:
  """Everything the generator knew: tests compare what models learn against it."""
  seed: int
  size: str
  start_date: datetime.date
  categories: tuple[catalog.Category, ...]
  category_share: np.ndarray
  items: catalog.ItemTruth
  users: users.UserTruth
  demand: demand.DemandTruth
  behaviour: interactions.BehaviourTruth

  def to_json(self) -> dict:
    """A JSON-ready dict (floats rounded so the file is byte-stable)."""
    def plain(value):
      if isinstance(value, np.ndarray):
        return np.round(value, 6).tolist() if value.dtype.kind == "f" else value.tolist()
      if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
      if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
      if isinstance(value, float):
        return round(value, 6)
      if isinstance(value, datetime.date):
        return value.isoformat()
      return value
    return plain(self)


@dataclasses.dataclass
class World:
  """A generated world in memory; index i of every table is item/user i."""
  categories: list[str]
  items: catalog.Items
  users: users.Users
  interactions: interactions.Interactions
  demand: np.ndarray    # int [num_days, num_categories]
  dates: list[str]      # ISO dates of the demand rows
  truth: WorldTruth

  def summary(self) -> dict:
    """Counts, categories and date range, for printing."""
    first = datetime.datetime.fromtimestamp(int(self.interactions.timestamp.min()), datetime.UTC)
    last = datetime.datetime.fromtimestamp(int(self.interactions.timestamp.max()), datetime.UTC)
    return {
        "seed": self.truth.seed, "size": self.truth.size,
        "items": len(self.items), "users": len(self.users),
        "interactions": len(self.interactions), "days": len(self.dates),
        "categories": self.categories,
        "items_per_category": np.bincount(self.items.category, minlength=len(self.categories)).tolist(),
        "interactions_from": first.date().isoformat(), "interactions_to": last.date().isoformat(),
        "demand_from": self.dates[0], "demand_to": self.dates[-1],
        "mean_rating": round(float(self.interactions.rating.mean()), 3),
        "promotions": len(self.truth.demand.promotions),
    }

  def write(self, directory: str | os.PathLike, *, overwrite: bool = False,
            progress: bool = False) -> str:
    """Writes the world's files (see the module docstring) into `directory`.

    `directory` may be any location TensorFlow's file systems know (`gs://bucket/world`,
    `ram://world`, a local path): every file goes through `tf.io.gfile` or TensorFlow's writers.

    Returns:
      `directory`, as a string.

    Raises:
      FileExistsError: `directory` already holds a world and `overwrite` is False.
    """
    # Imported here: generating a world needs no TensorFlow, only writing it does (the TFRecord,
    # and gs:// locations), and the tests and tools that only generate start seconds faster.
    import tensorflow as tf

    from common.data import tfrecord  # lazy: it imports TensorFlow (see above)

    out = os.fspath(directory)

    def at(*parts: str) -> str:
      return os.path.join(out, *parts)

    existing = [name for name in OUTPUTS if tf.io.gfile.exists(at(name))]
    if existing and not overwrite:
      raise FileExistsError(
          f"{out} already holds a world ({', '.join(existing[:3])}...); pass overwrite=True "
          "(--overwrite) to replace it, or choose another directory")
    # Stale files of a bigger world would otherwise survive. Files go first: on a flat object
    # store (ram://) the folder "images" also lists "images.tfrecord" as one of its own.
    for name in sorted(existing, key=lambda name: tf.io.gfile.isdir(at(name))):
      if tf.io.gfile.isdir(at(name)):
        tf.io.gfile.rmtree(at(name))
      else:
        tf.io.gfile.remove(at(name))
    items, cats = self.items, self.categories
    for name in cats:
      tf.io.gfile.makedirs(at("images", name))
    for i in tqdm(range(len(items)), desc="images", disable=not progress, leave=False):
      file_io.write_bytes(at(items.image_path(i, cats)), items.image_png[i])
    tfrecord.write_image_examples(at("images.tfrecord"),
                                  zip(items.image_png, items.category.tolist(), strict=True))
    file_io.write_bytes(at("labels.txt"), "".join(f"{name}\n" for name in cats).encode())
    csv_reader.write_rows(at("items.csv"), (
        (items.item_id[i], items.title[i], items.description[i], cats[items.category[i]],
         f"{items.price[i]:.2f}", items.image_path(i, cats)) for i in range(len(items))),
        header=("item_id", "title", "description", "category", "price", "image_path"))
    u = self.users
    csv_reader.write_rows(at("users.csv"), (
        (u.user_id[k], _date(int(u.signup_day[k])), users.REGIONS[u.region[k]])
        for k in range(len(u))), header=("user_id", "signup_date", "region"))
    x = self.interactions
    csv_reader.write_rows(at("interactions.csv"), zip(
        u.user_id[x.user], items.item_id[x.item], x.timestamp.tolist(), x.rating.tolist(),
        strict=True), header=("user_id", "item_id", "timestamp", "rating"))
    csv_reader.write_rows(at("demand.csv"), (
        [self.dates[t], *self.demand[t].tolist()] for t in range(len(self.dates))),
        header=("date", *cats))
    csv_reader.write_rows(at("promotions.csv"), demand.promotion_rows(
        self.truth.demand, START_DATE, cats, len(self.dates)), header=("date", "category"))
    file_io.write_bytes(at("truth.json"),
                        (json.dumps(self.truth.to_json(), sort_keys=True) + "\n").encode())
    return out


def _date(day: int) -> str:
  return (START_DATE + datetime.timedelta(days=day)).isoformat()


def generate(seed: int = 0, size: str = "small", *, progress: bool = False) -> World:
  """Generates the world for (seed, size).

  Args:
    seed: any non-negative integer; the same seed gives the same world, byte for byte.
    size: one of SIZES ("tiny" for tests, "small" by default, "medium").
    progress: show tqdm progress bars.
  """
  if size not in SIZES:
    raise ValueError(f"size={size!r} is not one of {sorted(SIZES)}")
  if not isinstance(seed, (int, np.integer)) or seed < 0:
    raise ValueError(f"seed={seed!r} must be a non-negative integer")
  spec = SIZES[size]
  streams = [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(6)]
  rng_catalog, rng_images, rng_text, rng_users, rng_demand, rng_interactions = streams
  cats = catalog.CATEGORIES
  names = [c.name for c in cats]

  category, price, item_truth, share = catalog.sample_items(rng_catalog, spec.num_items, spec.num_days)
  pixels = np.stack([images.render(rng_images, cats[c].shape, cats[c].hue, spec.image_size)
                     for c in tqdm(category, desc="render", disable=not progress, leave=False)])
  pngs = [images.encode_png(p) for p in pixels]
  titles, descriptions = [], []
  for c in category:
    others = [n for n in names if n != names[c]]
    titles.append(text.title(rng_text, names[c], cats[c].colour_word, others))
    descriptions.append(text.description(rng_text, names[c], others))
  items = catalog.Items(item_id=np.array([f"item_{i:05d}" for i in range(spec.num_items)]),
                        category=category, price=price, title=titles, description=descriptions,
                        image=pixels, image_png=pngs)

  user_table, user_truth = users.sample_users(rng_users, spec.num_users, len(cats), spec.num_days,
                                              spec.mean_events)
  demand_truth = demand.sample_truth(rng_demand, cats, share, spec.num_days)
  series = demand.sample_series(rng_demand, demand_truth, START_DATE, spec.num_days)
  season = demand.seasonal_factor(demand_truth, START_DATE, spec.num_days)
  behaviour = interactions.BehaviourTruth()
  start_ts = calendar.timegm(START_DATE.timetuple())
  with tqdm(total=spec.num_users, desc="interactions", disable=not progress, leave=False) as bar:
    log = interactions.sample_interactions(rng_interactions, user_table, user_truth, category,
                                           item_truth, season, start_ts, behaviour, bar.update)
  truth = WorldTruth(seed=int(seed), size=size, start_date=START_DATE, categories=cats,
                     category_share=share, items=item_truth, users=user_truth, demand=demand_truth,
                     behaviour=behaviour)
  return World(categories=names, items=items, users=user_table, interactions=log, demand=series,
               dates=[_date(d) for d in range(spec.num_days)], truth=truth)
