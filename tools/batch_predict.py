"""Batch prediction over any trellis export, as an Apache Beam pipeline.

    bazel run //tools:batch_predict -- --export_dir=/tmp/trellis/exports/vision_resnet20 \
        --input='/data/images-*.tfrecord' --output=/tmp/preds/vision

reads CSV, JSON Lines or TFRecord (local or gs://; the format from the file name or
--input_format), scores every record with the export through RunInference in batches, and
writes sharded output `<output>-SSSSS-of-NNNNN.<ext>` in the same format (or --output_format)
plus `<output>-dead_letters-*.jsonl`: one line per record that could not be scored, with its
key and the reason. At the end it prints inputs, outputs and dead letters and fails if
inputs != outputs + dead letters. Record fields per domain: tools/batch/handlers.py.

Here it runs on Beam's DirectRunner with 2 workers. Every flag this tool does not know is a
Beam pipeline option, so the same command runs at scale, e.g. on Dataflow:

    bazel run //tools:batch_predict -- --export_dir=gs://BUCKET/exports/recsys \
        --input='gs://BUCKET/users-*.csv' --output=gs://BUCKET/recs/recs --k=10 \
        --runner=DataflowRunner --project=PROJECT --region=us-central1 \
        --temp_location=gs://BUCKET/tmp --setup_file=./setup.py
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from tools.batch import dead_letters, export_reader, formats, handlers, loop

DEFAULT_BEAM_OPTIONS = {"--runner": "DirectRunner", "--direct_num_workers": "2",
                        "--direct_running_mode": "multi_threading"}


def parse(argv: Sequence[str] | None):
  """(our arguments, Beam's pipeline arguments with the local defaults filled in)."""
  p = argparse.ArgumentParser(prog="batch_predict", description=__doc__.splitlines()[0])
  p.add_argument("--export_dir", required=True,
                 help="<export_root>/<model_name> (newest version) or one version folder")
  p.add_argument("--input", required=True, help="file pattern: *.csv, *.jsonl or *.tfrecord")
  p.add_argument("--output", required=True, help="output prefix (shards are <output>-SSSSS-of-N)")
  p.add_argument("--input_format", default="", help="csv | jsonl | tfrecord (default: by name)")
  p.add_argument("--output_format", default="", help="default: the input's format")
  p.add_argument("--signature", default="",
                 help="recsys only: recommend (default; user histories) or candidate_embedding")
  p.add_argument("--k", type=int, default=10, help="recsys recommend: items per user")
  p.add_argument("--request_time", type=int, default=0,
                 help="recsys: Unix seconds for records without a timestamp; 0 = now")
  p.add_argument("--history_db", default="",
                 help="recsys: the online history store (SQLite file or redis:// URL) for users "
                      "whose record has no history")
  p.add_argument("--batch_size", type=int, default=64, help="largest RunInference batch")
  p.add_argument("--num_shards", type=int, default=0, help="output shards; 0 = runner's choice")
  args, beam_args = p.parse_known_args(argv)
  if args.batch_size < 1:
    p.error(f"--batch_size={args.batch_size} must be at least 1")
  if args.num_shards < 0:
    p.error(f"--num_shards={args.num_shards} must be 0 (runner's choice) or more")
  return args, with_local_defaults(beam_args)


def with_local_defaults(beam_args: Sequence[str]) -> list[str]:
  """Beam's arguments, plus DirectRunner with 2 worker threads unless another runner is named."""
  given = {a.split("=")[0] for a in beam_args if a.startswith("--")}
  if "--runner" in given and not any(a in ("--runner=DirectRunner", "--runner=direct")
                                     for a in beam_args):
    return list(beam_args)
  return list(beam_args) + [f"{k}={v}" for k, v in DEFAULT_BEAM_OPTIONS.items() if k not in given]


def make_job(args):
  """The export resolved, its handler built and the formats settled, before anything runs."""
  from tools.batch import pipeline  # lazy: Beam loads only when a pipeline is built

  version_dir = export_reader.resolve(args.export_dir)
  meta = export_reader.read_metadata(version_dir)
  handler = handlers.for_export(meta, version_dir, signature=args.signature, k=args.k,
                                request_time=args.request_time or int(time.time()),
                                history_db=args.history_db)
  input_format = formats.infer_format(args.input, args.input_format)
  return pipeline.Job(input=args.input, output=args.output, version_dir=version_dir,
                      handler=handler, input_format=input_format,
                      output_format=formats.infer_format(args.output, args.output_format
                                                         or input_format),
                      batch_size=args.batch_size, num_shards=args.num_shards)


def run(argv: Sequence[str] | None = None) -> dict[str, int]:
  """Runs the job to the end; returns the inputs / outputs / dead_letters counts."""
  import apache_beam as beam
  from apache_beam.options.pipeline_options import PipelineOptions

  from tools.batch import pipeline  # lazy: Beam loads only when a pipeline is built

  args, beam_args = parse(argv)
  job = make_job(args)
  start = time.perf_counter()
  p = beam.Pipeline(options=PipelineOptions(beam_args))
  pipeline.build(p, job)
  result = p.run()
  result.wait_until_finish()
  found = pipeline.counts(result)
  print(f"{job.handler.domain} export {job.version_dir}: {found['inputs']} inputs -> "
        f"{found['outputs']} outputs + {found['dead_letters']} dead letters "
        f"in {time.perf_counter() - start:.1f} s\n  outputs:      {job.output}-*\n"
        f"  dead letters: {job.dead_letter_prefix}-*.jsonl")
  pipeline.check(found)
  return found


def predict(export_dir, rows: list[dict], k: int, *, request_time: int, store=None,
            batch_size: int = 256) -> list[tuple[str, int, str, float, float]]:
  """In process, no Beam: (user_id, rank, item_id, score, rank_score) for every recsys input row.

  For a handful of users in a test or a notebook. `store` is an open
  `serving.recommendation.history_store` for rows without a `history`. A row that cannot be
  scored stops the call with its line number (the pipeline dead-letters it instead).
  """
  version_dir = export_reader.resolve(str(export_dir))
  meta = export_reader.read_metadata(version_dir)
  ids = [i for i in export_reader.read_asset(version_dir, "item_ids.txt").decode().split("\n") if i]
  handler = handlers.RecsysRecommend(meta, ids, k, request_time, store=store)
  out = []
  for line, (key, answer) in enumerate(
      loop.score(handler, export_reader.load(version_dir), rows, batch_size), start=2):
    if isinstance(answer, dead_letters.DeadLetter):
      raise SystemExit(f"error: input line {line}: user {key!r}: {answer.reason}")
    out += [(r["user_id"], r["rank"], r["item_id"], r["score"], r["rank_score"])
            for r in handler.rows(key, answer)]
  return out


def main(argv: Sequence[str] | None = None) -> int:
  from tools.batch import pipeline  # lazy: Beam loads only when a pipeline is built

  try:
    run(argv)
  except (export_reader.ExportReadError, formats.FormatError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  except pipeline.LostRecordsError as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  return 0


if __name__ == "__main__":
  sys.exit(main())
