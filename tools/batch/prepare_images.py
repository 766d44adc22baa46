"""An image folder becomes ImageNet-schema TFRecord shards, on Apache Beam.

    bazel run //tools:prepare_images -- --image_folder=/data/pets --output_dir=/data/pets-tfrecord

`image_folder` is `root/<class name>/*.png|jpg` (Keras' layout; a shop world's `images/` folder
is one). The output is what `vision/configs/resnet50_tpu_pod.py` (data.source=tfrecord) reads:

    <output_dir>/train-00000-of-00004.tfrecord ... validation-*, test-*, labels.txt

Each record holds `image/encoded` (the file's bytes, undecoded), `image/class/label` (the index
of the class in sorted order, line i of labels.txt), `image/class/text`, `image/format` and
`image/filename` (the key: the path relative to the root, e.g. `cats/001.png`).

The split is computed inside the pipeline from the key with `common.data.splits.split_of`,
the same function `vision`'s image-folder source uses, so a picture is in the same split
whether training reads the folder or these shards. The output is deterministic: a record's
shard is a hash of its key, and each shard is written sorted by key, so preparing the same
folder twice (on any runner, with any number of workers) gives byte-identical files. Files
that are not PNG or JPEG are dead letters (`<output_dir>/dead_letters.jsonl`) with the reason.
At scale, the same command with `--runner=DataflowRunner ...` reads and writes gs://.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics

from common.data import splits
from tools import batch_predict
from tools.batch import dead_letters, pipeline

EXTENSIONS = (".png", ".jpg", ".jpeg")
_MAGIC = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpeg"}


def class_names(root: str) -> list[str]:
  """Sorted sub-directory names of `root` (label i is the i-th), local or gs://."""
  import tensorflow as tf

  if not tf.io.gfile.isdir(root):
    raise FileNotFoundError(f"--image_folder {root} does not exist or is not a directory")
  names = sorted(n.rstrip("/") for n in tf.io.gfile.listdir(root)
                 if tf.io.gfile.isdir(f"{root}/{n.rstrip('/')}") and not n.startswith("."))
  if not names:
    raise FileNotFoundError(f"--image_folder {root} has no class sub-directories; expected "
                            f"{root}/<class>/<image>.png")
  return names


def list_class(label_and_name: tuple[int, str], root: str):
  """(key, label, path) of every file in one class directory; the key is `<class>/<file>`."""
  import tensorflow as tf

  label, name = label_and_name
  for file in sorted(tf.io.gfile.listdir(f"{root}/{name}")):
    if not file.endswith("/"):
      yield f"{name}/{file}", label, f"{root}/{name}/{file}"


class ToExample(beam.DoFn):
  """(key, label, path) → ((split, shard), (key, serialized Example)), or a dead letter."""

  def __init__(self, class_names: list[str], fractions: tuple[float, ...], num_shards: int):
    self._names, self._fractions, self._num_shards = class_names, fractions, num_shards
    self._inputs = Metrics.counter(pipeline.NAMESPACE, "inputs")
    self._outputs = Metrics.counter(pipeline.NAMESPACE, "outputs")

  def process(self, item):
    import tensorflow as tf

    key, label, path = item
    self._inputs.inc()
    with tf.io.gfile.GFile(path, "rb") as f:
      blob = f.read()
    fmt = next((v for magic, v in _MAGIC.items() if blob.startswith(magic)), None)
    if fmt is None:
      why = "empty file" if not blob else f"not a PNG or JPEG file (starts with {blob[:8]!r})"
      yield beam.pvalue.TaggedOutput(dead_letters.TAG, dead_letters.make(key, why, "prepare"))
      return
    feature = {
        "image/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(value=[blob])),
        "image/class/label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
        "image/class/text": tf.train.Feature(bytes_list=tf.train.BytesList(
            value=[self._names[label].encode()])),
        "image/format": tf.train.Feature(bytes_list=tf.train.BytesList(value=[fmt.encode()])),
        "image/filename": tf.train.Feature(bytes_list=tf.train.BytesList(value=[key.encode()])),
    }
    example = tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()
    self._outputs.inc()
    shard = splits.fingerprint64(key.encode()) % self._num_shards
    yield (splits.split_of(key, self._fractions), shard), (key, example)


def shard_path(output_dir: str, split: str, shard: int, num_shards: int) -> str:
  return f"{output_dir}/{split}-{shard:05d}-of-{num_shards:05d}.tfrecord"


def write_shard(keyed, output_dir: str, num_shards: int) -> str:
  """Writes one shard sorted by key (a temporary name, then renamed: never half-visible)."""
  import tensorflow as tf

  (split, shard), records = keyed
  path = shard_path(output_dir, split, shard, num_shards)
  tmp = f"{path}.tmp-{time.time_ns()}"
  with tf.io.TFRecordWriter(tmp) as w:
    for _, example in sorted(r for r in records if r is not None):
      w.write(example)
  tf.io.gfile.rename(tmp, path, overwrite=True)
  return path


def build(p: beam.Pipeline, root: str, output_dir: str, fractions: tuple[float, ...],
          num_shards: int) -> None:
  names = class_names(root)
  files = (p | "Classes" >> beam.Create(list(enumerate(names)))
           | "ListFiles" >> beam.FlatMap(list_class, root)
           | "Reshuffle" >> beam.Reshuffle())  # spread reading over workers, not one per class
  examples = files | "ToExample" >> beam.ParDo(ToExample(names, fractions, num_shards)
                                               ).with_outputs(dead_letters.TAG, main="ok")
  # Every shard exists (maybe empty), so the file set depends on nothing but the arguments.
  empty = p | "AllShards" >> beam.Create(
      [((split, s), None) for split in splits.SPLITS for s in range(num_shards)])
  ((examples.ok, empty) | "WithEmpty" >> beam.Flatten()
   | "ByShard" >> beam.GroupByKey()
   | "WriteShards" >> beam.Map(write_shard, output_dir, num_shards))
  (examples[dead_letters.TAG]
   | "CountDeadLetters" >> beam.Map(pipeline.count_dead_letter)
   | "WriteDeadLetters" >> beam.io.WriteToText(f"{output_dir}/dead_letters", ".jsonl",
                                               num_shards=1, shard_name_template=""))


def run(argv: Sequence[str] | None = None) -> dict[str, int]:
  import tensorflow as tf
  from apache_beam.options.pipeline_options import PipelineOptions

  p = argparse.ArgumentParser(prog="prepare_images", description=__doc__.splitlines()[0])
  p.add_argument("--image_folder", required=True, help="root/<class>/*.png|jpg (local or gs://)")
  p.add_argument("--output_dir", required=True, help="where the TFRecord shards go")
  p.add_argument("--split_fractions", default="0.8,0.1,0.1", help="train,validation,test")
  p.add_argument("--num_shards", type=int, default=4, help="shards per split")
  args, beam_args = p.parse_known_args(argv)
  try:
    fractions = tuple(float(x) for x in args.split_fractions.split(","))
  except ValueError:
    p.error(f"--split_fractions={args.split_fractions!r}: give three numbers, e.g. 0.8,0.1,0.1")
  if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-6 or min(fractions) < 0:
    p.error(f"--split_fractions={args.split_fractions!r}: three shares >= 0 summing to 1")
  if args.num_shards < 1:
    p.error(f"--num_shards={args.num_shards} must be at least 1")
  root, out = args.image_folder.rstrip("/"), args.output_dir.rstrip("/")
  names = class_names(root)
  tf.io.gfile.makedirs(out)
  with tf.io.gfile.GFile(f"{out}/labels.txt", "w") as f:
    f.write("".join(n + "\n" for n in names))
  start = time.perf_counter()
  beam_pipeline = beam.Pipeline(options=PipelineOptions(
      batch_predict.with_local_defaults(beam_args)))
  build(beam_pipeline, root, out, fractions, args.num_shards)
  result = beam_pipeline.run()
  result.wait_until_finish()
  found = pipeline.counts(result)
  print(f"{root}: {len(names)} classes, {found['inputs']} files -> {found['outputs']} examples + "
        f"{found['dead_letters']} dead letters in {out} ({time.perf_counter() - start:.1f} s)")
  pipeline.check(found)
  return found


def main(argv: Sequence[str] | None = None) -> int:
  try:
    run(argv)
  except FileNotFoundError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  return 0


if __name__ == "__main__":
  sys.exit(main())
