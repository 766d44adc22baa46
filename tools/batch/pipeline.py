"""The batch prediction pipeline: read → prepare → RunInference → write, nothing lost.

    records ──Prepare──▶ (key, model input) ──RunInference──▶ (key, answer) ──Collect──▶ outputs
       │ parse / domain refusal                                   │ model refusal
       └────────────────────────────▶ dead letters ◀──────────────┘

Every step streams: records are read, scored in batches and written shard by shard, never
gathered in memory, so the same pipeline scores 10 thousand rows on a laptop and 50 million
on Dataflow. Three Beam counters (namespace `trellis_batch`: inputs, outputs, dead_letters)
are checked when the job ends: inputs must equal outputs + dead letters, else the job fails.
"""

from __future__ import annotations

import dataclasses
import hashlib

import apache_beam as beam
from apache_beam.coders import coders
from apache_beam.io import filesystems
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.ml.inference.base import RunInference

from tools.batch import dead_letters, formats
from tools.batch.handlers import Handler
from tools.batch.model_handler import ExportModelHandler

NAMESPACE = "trellis_batch"
COUNTERS = ("inputs", "outputs", "dead_letters")


class LostRecordsError(RuntimeError):
  """inputs != outputs + dead letters: a record vanished (a bug, never expected)."""


def csv_header_of(pattern: str) -> list[str]:
  """The header of the first file matching `pattern` (every CSV shard starts with it)."""
  matches = filesystems.FileSystems.match([pattern])[0].metadata_list
  if not matches:
    raise formats.FormatError(f"--input {pattern} matches no file")
  first = sorted(m.path for m in matches)[0]
  with filesystems.FileSystems.open(first) as f:
    line = f.readline()
  if not line.strip():
    raise formats.FormatError(f"{first} is empty: a CSV input needs a header line first")
  return formats.parse_csv_header(line)


class Prepare(beam.DoFn):
  """Raw record → (key, model input), or a dead letter tagged `dead_letters`."""

  def __init__(self, fmt: str, handler: Handler, header: list[str] | None):
    self._fmt, self._handler, self._header = fmt, handler, header
    self._inputs = Metrics.counter(NAMESPACE, "inputs")

  def _parse(self, raw: bytes) -> dict:
    if self._fmt == "csv":
      return formats.parse_csv_line(raw, self._header)
    if self._fmt == "jsonl":
      return formats.parse_json_line(raw)
    return formats.parse_example(raw)

  def process(self, raw: bytes):
    self._inputs.inc()
    try:
      record = self._parse(raw)
    except formats.RecordError as e:
      key = "unparsed:" + hashlib.sha1(raw, usedforsecurity=False).hexdigest()[:16]
      yield beam.pvalue.TaggedOutput(dead_letters.TAG, dead_letters.make(key, str(e), "parse", raw))
      return
    key = self._handler.key(record)
    try:
      yield key, self._handler.prepare(record)
    except dead_letters.BadInput as e:
      yield beam.pvalue.TaggedOutput(dead_letters.TAG,
                                     dead_letters.make(key, str(e), "prepare", record))


class Collect(beam.DoFn):
  """(key, answer) → an output record, or the model's refusal to the dead letters."""

  def __init__(self, handler: Handler):
    self._handler = handler
    self._outputs = Metrics.counter(NAMESPACE, "outputs")

  def process(self, keyed):
    key, answer = keyed
    if isinstance(answer, dead_letters.DeadLetter):
      yield beam.pvalue.TaggedOutput(dead_letters.TAG, answer)
      return
    self._outputs.inc()  # one per scored input, however many rows it writes
    yield from self._handler.rows(key, answer)


def count_dead_letter(letter: dead_letters.DeadLetter) -> str:
  """The dead letter as a JSON line, counted (the counter the nothing-lost check reads)."""
  Metrics.counter(NAMESPACE, "dead_letters").inc()
  return letter.to_json()


def read(p: beam.Pipeline, pattern: str, fmt: str):
  """Raw records (lines as bytes, or serialized Examples) of every file matching `pattern`."""
  if fmt == "tfrecord":
    return p | "ReadTFRecord" >> beam.io.ReadFromTFRecord(pattern, coder=coders.BytesCoder())
  return p | "ReadLines" >> beam.io.ReadFromText(
      pattern, coder=coders.BytesCoder(), skip_header_lines=1 if fmt == "csv" else 0)


def _sharding(output: str, fmt: str, num_shards: int) -> dict:
  """Where output goes: `<output>-SSSSS-of-NNNNN.<ext>` shards, or exactly `output` when it
  names one file (`recs.csv`) and no shard count is asked for."""
  ext = "." + fmt
  if output.endswith(ext) and num_shards == 0:
    return {"file_path_prefix": output[:-len(ext)], "file_name_suffix": ext, "num_shards": 1,
            "shard_name_template": ""}
  return {"file_path_prefix": output, "file_name_suffix": ext, "num_shards": num_shards}


def write(records, output: str, fmt: str, fields: list[str], num_shards: int = 0):
  """Writes `records` in `fmt` (see `_sharding` for the file names)."""
  where = _sharding(output, fmt, num_shards)
  if fmt == "tfrecord":
    return (records | "ToExample" >> beam.Map(formats.to_example)
            | "WriteTFRecord" >> beam.io.WriteToTFRecord(**where))
  if fmt == "csv":
    lines = records | "ToCSV" >> beam.Map(formats.to_csv_line, fields)
    return lines | "WriteCSV" >> beam.io.WriteToText(header=",".join(fields), **where)
  lines = records | "ToJSON" >> beam.Map(formats.to_json_line)
  return lines | "WriteJSONL" >> beam.io.WriteToText(**where)


@dataclasses.dataclass
class Job:
  """One batch prediction job's inputs and outputs (the command line, parsed)."""

  input: str
  output: str
  version_dir: str
  handler: Handler
  input_format: str
  output_format: str
  batch_size: int = 64
  num_shards: int = 0

  @property
  def dead_letter_prefix(self) -> str:
    ext = "." + self.output_format
    base = self.output[:-len(ext)] if self.output.endswith(ext) else self.output
    return base + "-dead_letters"


def build(p: beam.Pipeline, job: Job) -> None:
  """Adds the job's transforms to `p`."""
  header = csv_header_of(job.input) if job.input_format == "csv" else None
  raw = read(p, job.input, job.input_format)
  prepared = raw | "Prepare" >> beam.ParDo(Prepare(job.input_format, job.handler, header)
                                           ).with_outputs(dead_letters.TAG, main="ok")
  answers = prepared.ok | "RunInference" >> RunInference(
      ExportModelHandler(job.version_dir, job.handler, max_batch_size=job.batch_size))
  collected = answers | "Collect" >> beam.ParDo(Collect(job.handler)).with_outputs(dead_letters.TAG,
                                                                       main="ok")
  write(collected.ok, job.output, job.output_format, job.handler.output_fields, job.num_shards)
  ((prepared[dead_letters.TAG], collected[dead_letters.TAG])
   | "AllDeadLetters" >> beam.Flatten()
   | "CountDeadLetters" >> beam.Map(count_dead_letter)
   | "WriteDeadLetters" >> beam.io.WriteToText(job.dead_letter_prefix, file_name_suffix=".jsonl",
                                               num_shards=job.num_shards))


def counts(result) -> dict[str, int]:
  """The job's inputs / outputs / dead_letters counters (committed where the runner has them)."""
  found = {name: 0 for name in COUNTERS}
  for c in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]:
    value = c.committed if c.committed is not None else c.attempted
    found[c.key.metric.name] += int(value or 0)
  return found


def check(found: dict[str, int]) -> None:
  """Raises LostRecordsError unless every input became an output or a dead letter."""
  if found["inputs"] != found["outputs"] + found["dead_letters"]:
    raise LostRecordsError(
        f"{found['inputs']} inputs but {found['outputs']} outputs + {found['dead_letters']} dead "
        "letters: records were lost (a bug in the pipeline; please report it)")
