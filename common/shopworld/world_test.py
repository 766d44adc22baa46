"""world: same seed -> same bytes; files read back with the common/data readers; clear errors."""

import datetime
import hashlib
import json
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from common.data import csv_reader, image_folder, tfrecord
from common.shopworld import world


def _hashes(directory):
  return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
          for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
  w = world.generate(seed=0, size="tiny")
  return w, pathlib.Path(w.write(tmp_path_factory.mktemp("world")))


def test_same_seed_writes_same_bytes(written, tmp_path):
  _, first = written
  again = pathlib.Path(world.generate(seed=0, size="tiny").write(tmp_path / "again"))
  a, b = _hashes(first), _hashes(again)
  assert len(a) > 300 and a == b


def test_different_seed_writes_different_files(written, tmp_path):
  _, first = written
  other = _hashes(pathlib.Path(world.generate(seed=1, size="tiny").write(tmp_path / "other")))
  ours = _hashes(first)
  for name in ("items.csv", "users.csv", "interactions.csv", "demand.csv", "images.tfrecord"):
    assert ours[name] != other[name], name


def test_items_csv_matches_memory_and_image_folder(written):
  w, out = written
  columns = csv_reader.read_columns(
      out / "items.csv", ["item_id", "title", "description", "category", "price", "image_path"])
  assert columns["item_id"] == w.items.item_id.tolist()
  assert columns["category"] == [w.categories[c] for c in w.items.category]
  assert all(float(p) > 0 for p in columns["price"])
  assert all((out / p).is_file() for p in columns["image_path"])
  paths, _, names = image_folder.list_images(out / "images")
  assert names == sorted(w.categories) and len(paths) == len(w.items)
  assert (out / "labels.txt").read_text().split() == w.categories


def test_tfrecord_holds_every_image_with_its_category(written):
  w, out = written
  records = [(e.numpy(), int(label)) for e, label in tfrecord.image_dataset(out / "images.tfrecord")]
  assert [label for _, label in records] == w.items.category.tolist()
  assert records[5][0] == w.items.image_png[5]


def test_interactions_refer_to_known_users_and_items_in_time(written):
  w, out = written
  rows = csv_reader.read_rows(out / "interactions.csv", 4,
                              header=["user_id", "item_id", "timestamp", "rating"])
  assert len(rows) == len(w.interactions) > 1000
  user_ids, item_ids = set(w.users.user_id), set(w.items.item_id)
  assert all(r[0] in user_ids and r[1] in item_ids for r in rows)
  timestamps = [int(r[2]) for r in rows]
  assert timestamps == sorted(timestamps)
  start = datetime.datetime(2022, 1, 1, tzinfo=datetime.UTC).timestamp()
  assert start <= timestamps[0] and timestamps[-1] < start + len(w.dates) * 86400
  assert {r[3] for r in rows} <= {"1", "2", "3", "4", "5"}
  pairs = [(r[0], r[1]) for r in rows]
  assert len(pairs) == len(set(pairs))  # no user sees an item twice
  # An item is never bought before its release day.
  days = (w.interactions.timestamp - int(start)) // 86400
  assert (days >= w.truth.items.release_day[w.interactions.item]).all()
  assert (days >= w.users.signup_day[w.interactions.user]).all()


def test_demand_and_users_and_truth_files(written):
  w, out = written
  demand_rows = csv_reader.read_rows(out / "demand.csv", 1 + len(w.categories),
                                     header=["date", *w.categories])
  assert [r[0] for r in demand_rows] == w.dates and len(w.dates) == world.SIZES["tiny"].num_days
  assert np.array([r[1:] for r in demand_rows], int).tolist() == w.demand.tolist()
  users = csv_reader.read_rows(out / "users.csv", 3, header=["user_id", "signup_date", "region"])
  assert len(users) == len(w.users)
  truth = json.loads((out / "truth.json").read_text())
  assert [c["name"] for c in truth["categories"]] == w.categories
  assert np.allclose(truth["users"]["taste_start"], w.truth.users.taste_start, atol=1e-6)
  promotions = csv_reader.read_rows(out / "promotions.csv", 2, header=["date", "category"])
  assert promotions and all(c in w.categories for _, c in promotions)


def test_refuses_to_overwrite_unless_asked(written):
  w, out = written
  with pytest.raises(FileExistsError, match=r"already holds a world.*overwrite=True"):
    w.write(out)
  (out / "images" / "stale").mkdir()
  w.write(out, overwrite=True)
  assert not (out / "images" / "stale").exists()


def test_writes_the_same_bytes_to_a_url_location(written):
  """A world directory may be gs://: ram:// is TensorFlow's in-memory file system, same API."""
  w, local = written
  root = "ram://world_test/world"
  assert w.write(root) == root
  # Not tf.io.gfile.walk: the ram:// file system lists "images.tfrecord" inside "images/" too.
  expected = _hashes(local)
  remote = {name: hashlib.sha256(tf.io.gfile.GFile(f"{root}/{name}", "rb").read()).hexdigest()
            for name in expected}
  assert remote == expected
  assert sorted(tf.io.gfile.listdir(root)) == sorted(world.OUTPUTS)
  with pytest.raises(FileExistsError, match="already holds a world"):
    w.write(root)
  tf.io.gfile.makedirs(f"{root}/images/stale")
  w.write(root, overwrite=True)
  assert not tf.io.gfile.exists(f"{root}/images/stale")


def test_bad_arguments_are_explained():
  with pytest.raises(ValueError, match=r"size='huge' is not one of \['medium', 'small', 'tiny'\]"):
    world.generate(0, "huge")
  with pytest.raises(ValueError, match="non-negative integer"):
    world.generate(-1, "tiny")


def test_summary_describes_the_world(written):
  w, _ = written
  summary = w.summary()
  assert summary["items"] == 300 and summary["users"] == 150
  assert sum(summary["items_per_category"]) == 300 and len(summary["categories"]) == 10
  assert summary["demand_from"] == "2022-01-01"
