"""Dead letters: the records a batch job could not score, each with its key and the reason.

Nothing is dropped silently. A record that does not parse, that a domain refuses before the
model (non-UTF-8 text, a NaN or a wrong-shaped window, an unknown user), or that the model
itself refuses (bytes that are not an image) leaves the pipeline as one JSON line in the
dead-letter output:

    {"key": "item_0042", "reason": "image bytes are not JPEG or PNG ...", "stage": "model",
     "input": "{'image': b'<html>404...'}"}

`stage` says where it was refused: "parse", "prepare" or "model". `input` is a short
repr of the record, enough to find it; the full record is in the input under its key.
"""

from __future__ import annotations

import dataclasses
import json

TAG = "dead_letters"
STAGES = ("parse", "prepare", "model")
_INPUT_CHARS = 200


class BadInput(ValueError):  # noqa: N818 -- a record, not a program error: reads as "bad input"
  """A record a domain cannot turn into model input; the message is the reason for a person."""


@dataclasses.dataclass(frozen=True)
class DeadLetter:
  key: str
  reason: str
  stage: str
  input: str = ""

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self))


def make(key, reason: str, stage: str, record=None) -> DeadLetter:
  """A dead letter for `record`; the reason is cut to its first line (TF's are long)."""
  if stage not in STAGES:
    raise ValueError(f"stage {stage!r} is not one of {STAGES}")
  summary = "" if record is None else repr(record)
  if len(summary) > _INPUT_CHARS:
    summary = summary[:_INPUT_CHARS] + "..."
  return DeadLetter(str(key), short_reason(reason), stage, summary)


def short_reason(message: str) -> str:
  """The part of an error message a person needs.

  A model's own refusal (a failed `tf.debugging.Assert` in the export) arrives wrapped as
  "Graph execution error: ... assertion failed: [the model's words] [values] [[{{node ...}}]]":
  keep what follows "assertion failed:", without TensorFlow's node dump.
  """
  text = str(message).strip()
  if "assertion failed:" in text:
    text = text.split("assertion failed:", 1)[1].split("[[{{node", 1)[0]
  else:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith(
        ("Graph execution error", "Detected at node", "<stack traces", "\t [[", "  File "))]
    text = (lines or [text])[0].split(" [Op:")[0]
  return " ".join(text.split())[:500]
