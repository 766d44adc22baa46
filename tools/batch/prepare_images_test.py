"""Image folder → ImageNet-schema TFRecords on Beam: hash split, deterministic bytes, dead letters,
and the vision trainer reading the result (data.source=tfrecord, as resnet50_tpu_pod.py does)."""

from __future__ import annotations

import hashlib
import pathlib

import pytest
import tensorflow as tf

from common.data import splits, tfrecord
from common.shopworld import world as shopworld
from tools.batch import prepare_images


@pytest.fixture(scope="module")
def world_images(tmp_path_factory) -> pathlib.Path:
  world_dir = tmp_path_factory.mktemp("world")
  shopworld.generate(seed=0, size="tiny").write(world_dir)
  images = world_dir / "images"
  (images / "books" / "notes.txt").write_text("not a picture")  # must become a dead letter
  return images


def _digests(directory: pathlib.Path) -> dict[str, str]:
  return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
          for p in sorted(directory.glob("*.tfrecord"))}


@pytest.fixture(scope="module")
def prepared(world_images, tmp_path_factory):
  out = tmp_path_factory.mktemp("shards")
  found = prepare_images.run([f"--image_folder={world_images}", f"--output_dir={out}",
                              "--num_shards=2"])
  return out, found


def test_every_picture_is_an_example_in_its_hash_split_and_others_are_dead_letters(
    prepared, world_images):
  out, found = prepared
  pictures = sorted(p for p in world_images.glob("*/*.png"))
  assert found == {"inputs": len(pictures) + 1, "outputs": len(pictures), "dead_letters": 1}
  assert "not a PNG or JPEG" in (out / "dead_letters.jsonl").read_text()
  names = (out / "labels.txt").read_text().split()
  assert names == sorted(p.name for p in world_images.iterdir())
  assert sorted(p.name for p in out.glob("*.tfrecord")) == [
      f"{s}-{i:05d}-of-00002.tfrecord" for s in ("test", "train", "validation") for i in range(2)]
  seen = {}
  for split in splits.SPLITS:
    for path in sorted(out.glob(f"{split}-*.tfrecord")):
      for raw in tf.data.TFRecordDataset(str(path)):
        ex = tf.train.Example.FromString(raw.numpy()).features.feature
        key = ex["image/filename"].bytes_list.value[0].decode()
        seen[key] = split
        label = ex["image/class/label"].int64_list.value[0]
        assert key.split("/")[0] == names[label]
        assert ex["image/encoded"].bytes_list.value[0] == (world_images / key).read_bytes()
  # The split is the one common/data/splits gives the key (as vision's folder source does).
  assert seen == {str(p.relative_to(world_images)): splits.split_of(
      str(p.relative_to(world_images))) for p in pictures}


def test_preparing_twice_gives_identical_files(prepared, world_images, tmp_path):
  out, _ = prepared
  prepare_images.run([f"--image_folder={world_images}", f"--output_dir={tmp_path}",
                      "--num_shards=2", "--direct_num_workers=1"])
  assert _digests(tmp_path) == _digests(out)


def test_the_vision_trainer_reads_the_shards_and_exports(prepared, tmp_path):
  from vision import demo

  out, _ = prepared
  names = (out / "labels.txt").read_text().split()
  result = demo.run(str(tmp_path), "", epochs=1, overrides=[
      "data.source=tfrecord", f"data.train_files={out}/train-*",
      f"data.validation_files={out}/validation-*", f"data.test_files={out}/test-*",
      f"data.class_names={tuple(names)}", "steps_per_epoch=3", "batch_size=16", "eval_steps=1",
      "data.cache=False", "distribution.jit_compile=False"])
  assert 0.0 <= result.metrics["test"]["model"]["accuracy"] <= 1.0
  labels = (pathlib.Path(result.extras["export_dir"]) / "assets" / "labels.txt").read_text().split()
  assert labels == names
  assert tfrecord.check_framing(next(out.glob("train-*.tfrecord"))) > 0


def test_a_missing_folder_is_explained(tmp_path):
  assert prepare_images.main([f"--image_folder={tmp_path}/nope", f"--output_dir={tmp_path}/o"]) == 2
  with pytest.raises(SystemExit):
    prepare_images.run([f"--image_folder={tmp_path}", f"--output_dir={tmp_path}/o",
                        "--split_fractions=0.5,0.1"])
