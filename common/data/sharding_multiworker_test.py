"""Two real MultiWorkerMirroredStrategy workers read disjoint TFRecord files, covering all records.

The parent writes 4 shards of 5 records, starts this file twice as a 2-worker cluster
(`common.distribute.launch`: TF_CONFIG on 127.0.0.1), and each worker reads the shards through
`strategy.distribute_datasets_from_function` with the InputContext the strategy hands over, and
writes what it saw. Worker 0 must read shards 0 and 2, worker 1 shards 1 and 3: every record
once, and every file opened by one worker only.
"""

import io
import json
import os
import sys

SHARDS, PER_SHARD = 4, 5


def _worker(data_dir: str, out_dir: str) -> None:
  """One worker: read this pipeline's records through the strategy, write labels and files."""
  import tensorflow as tf

  from common.data import tfrecord

  strategy = tf.distribute.MultiWorkerMirroredStrategy()
  opened, contexts = [], []
  real = tf.data.TFRecordDataset

  def recording_reader(files, **kwargs):
    opened.extend(os.path.basename(f) for f in files)
    return real(files, **kwargs)

  tf.data.TFRecordDataset = recording_reader

  def dataset_fn(ctx):
    contexts.append((ctx.input_pipeline_id, ctx.num_input_pipelines))
    ds = tfrecord.image_dataset(f"{data_dir}/train-*", input_context=ctx)
    return ds.map(lambda encoded, label: label).batch(ctx.get_per_replica_batch_size(2))

  labels = []
  for batch in strategy.distribute_datasets_from_function(dataset_fn):
    for local in strategy.experimental_local_results(batch):
      labels += local.numpy().tolist()
  task = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
  with open(os.path.join(out_dir, f"worker-{task}.json"), "w") as f:  # local: test output
    json.dump({"labels": labels, "opened": opened, "contexts": contexts}, f)


def test_two_multi_worker_workers_read_disjoint_files_covering_every_record(tmp_path, monkeypatch):
  from common.data import tfrecord
  from common.distribute import launch

  data_dir = tmp_path / "data"
  data_dir.mkdir()
  for shard in range(SHARDS):
    tfrecord.write_image_examples(
        data_dir / f"train-{shard}", [(b"x", PER_SHARD * shard + i) for i in range(PER_SHARD)])
  log = io.StringIO()
  # The workers run this file as a script: give them this process's import path.
  monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in sys.path if p))
  code = launch.run([sys.executable, __file__, "--worker", str(data_dir), str(tmp_path)], 2,
                    out=log, cwd=os.getcwd(), grace_seconds=5)
  assert code == 0, log.getvalue()[-3000:]
  seen = []
  for worker in range(2):
    with open(tmp_path / f"worker-{worker}.json") as f:  # local: test output
      seen.append(json.load(f))
  assert [s["contexts"] for s in seen] == [[[0, 2]], [[1, 2]]]
  assert seen[0]["opened"] == ["train-0", "train-2"]
  assert seen[1]["opened"] == ["train-1", "train-3"]
  assert sorted(seen[0]["labels"]) == [*range(0, 5), *range(10, 15)]
  assert sorted(seen[1]["labels"]) == [*range(5, 10), *range(15, 20)]


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:
  _worker(sys.argv[2], sys.argv[3])
