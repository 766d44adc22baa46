"""sharding: two workers read disjoint files that together cover every record exactly once."""

import logging

import pytest
import tensorflow as tf

from common.data import csv_reader, pipeline, sharding, tfrecord


def _context(worker: int, workers: int = 2) -> tf.distribute.InputContext:
  # What MultiWorkerMirroredStrategy (one pipeline per worker) or Horovod (one per rank) hands over.
  return tf.distribute.InputContext(num_input_pipelines=workers, input_pipeline_id=worker,
                                    num_replicas_in_sync=workers)


def test_files_are_dealt_round_robin():
  paths = [f"train-{i}" for i in range(5)]
  assert sharding.shard_files(paths, _context(0)) == ["train-0", "train-2", "train-4"]
  assert sharding.shard_files(paths, _context(1)) == ["train-1", "train-3"]
  assert sharding.shard_files(paths, None) == paths
  assert sharding.shard_files(paths[:1], _context(1)) is None  # fewer files than pipelines


@pytest.fixture
def tfrecord_shards(tmp_path):
  # 5 shards of 7, 7, 7, 7, 2 records; labels number the records 0..29.
  for shard in range(5):
    labels = range(7 * shard, min(7 * shard + 7, 30))
    tfrecord.write_image_examples(tmp_path / f"train-{shard:05d}-of-00005",
                                  [(b"png-%d" % i, i) for i in labels])
  return str(tmp_path / "train-*")


def _labels(ds):
  return [int(label) for _, label in ds]


def test_two_workers_read_disjoint_tfrecord_files_covering_every_record_once(
    tfrecord_shards, monkeypatch):
  opened = []
  real = tf.data.TFRecordDataset
  monkeypatch.setattr(tf.data, "TFRecordDataset",
                      lambda files, **kw: opened.append(list(files)) or real(files, **kw))
  per_worker = [_labels(tfrecord.image_dataset(tfrecord_shards, input_context=_context(w)))
                for w in range(2)]
  # Worker 0 reads shards 0, 2, 4 (7 + 7 + 2 records), worker 1 shards 1, 3 (7 + 7).
  assert [len(labels) for labels in per_worker] == [16, 14]
  assert set(per_worker[0]).isdisjoint(per_worker[1])
  assert sorted(per_worker[0] + per_worker[1]) == list(range(30))
  # Each worker opened only its own files: every file is read once over both.
  files = [f.rsplit("/", 1)[-1][:11] for f in opened[0] + opened[1]]
  assert sorted(files) == [f"train-{i:05d}" for i in range(5)]


def test_fewer_files_than_workers_warns_and_shards_records(tmp_path, caplog):
  path = tmp_path / "only-shard"
  tfrecord.write_image_examples(path, [(b"x", i) for i in range(9)])
  with caplog.at_level(logging.WARNING):
    per_worker = [_labels(tfrecord.image_dataset(str(path), input_context=_context(w)))
                  for w in range(2)]
  assert "1 file(s) for 2 input pipelines" in caplog.text
  assert "Write at least 2 shards" in caplog.text
  assert sorted(per_worker[0] + per_worker[1]) == list(range(9))
  assert set(per_worker[0]).isdisjoint(per_worker[1])


def test_two_workers_read_disjoint_csv_shards(tmp_path):
  files = []
  for shard in range(4):
    files.append(str(tmp_path / f"part-{shard}.csv"))
    csv_reader.write_rows(files[-1], [[f"row{i}", i] for i in range(5 * shard, 5 * shard + 5)],
                          header=["key", "value"])
  defaults = [tf.constant([], tf.string), tf.constant([], tf.int32)]
  per_worker = [[int(v) for _, v in csv_reader.csv_dataset(files, defaults,
                                                           input_context=_context(w))]
                for w in range(2)]
  assert per_worker[0] == [*range(0, 5), *range(10, 15)]  # parts 0 and 2
  assert per_worker[1] == [*range(5, 10), *range(15, 20)]  # parts 1 and 3


def test_pipeline_does_not_shard_a_second_time(tfrecord_shards):
  context = _context(1)
  ds = tfrecord.image_dataset(tfrecord_shards, input_context=context)
  batches = pipeline.build(ds.map(lambda e, y: y), 2, training=False, input_context=context,
                           shard=False, cache=False)
  assert sorted(int(v) for b in batches for v in b) == [*range(7, 14), *range(21, 28)]


def test_non_local_glob_and_read(tmp_path):
  # ram:// (TensorFlow's in-memory file system) stands in for gs://: glob, stat and read
  # go through tf.io.gfile, where glob.glob / os.path.isfile saw no files at all.
  for shard in range(2):
    tfrecord.write_image_examples(f"ram://sharding_test/val-{shard}", [(b"x", shard)] * 3)
  assert tfrecord.expand_files("ram://sharding_test/val-*") == [
      "ram://sharding_test/val-0", "ram://sharding_test/val-1"]
  assert tfrecord.check_framing("ram://sharding_test/val-1") == 3
  assert _labels(tfrecord.image_dataset("ram://sharding_test/val-*")) == [0, 0, 0, 1, 1, 1]
  with pytest.raises(FileNotFoundError, match="no TFRecord files match ram://sharding_test/t"):
    tfrecord.expand_files("ram://sharding_test/t*")
