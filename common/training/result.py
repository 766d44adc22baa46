"""`TrainResult`: what every domain's `train.train_and_evaluate` returns.

The four domains (vision, time series, text, recommender) train different models on different
data, but a caller (the domain's `main.py`, its export, `make demo`, a bench, a test) asks the same
questions of every run: which model, judged against which baseline, on which data, how well on
validation and test, and at what cost. One type answers them, so the callers read the same fields:

    result = train.train_and_evaluate(config, workdir, data_dir)
    result.metrics["validation"]["model"]["accuracy"], result.metrics["validation"]["baseline"]
    result.data_fingerprint, result.epochs, result.train_seconds

`metrics[split]` holds `{"model": {...}, "baseline": {...}}` plus any domain extras the domain's
`evaluate` returns for that split (per-slice tables, per-horizon errors...). Everything a domain
needs beyond these fields (a tokenizer, a scaler, the ensemble members) goes in `extras`.
"""

import dataclasses
import json
import uuid
from typing import Any

import tensorflow as tf

RESULT_FILE = "result.json"


@dataclasses.dataclass
class TrainResult:
  """One finished training run.

  Attributes:
    model: the trained model, with the weights training chose (best validation epoch).
    baseline: the baseline it is judged against (a model, or a predictor the domain defines).
    data: the domain's loaded data (splits, vocabulary, class names...).
    metrics: split ("validation", "test") -> {"model": {...}, "baseline": {...}, ...}.
    data_fingerprint: `common.data.fingerprint` of the training data.
    epochs: epochs actually run (early stopping may end before `config.epochs`).
    train_seconds: wall time of training, without data loading and evaluation.
    config: the run's config, as resolved from the data.
    extras: anything else the domain's export or report needs.
  """

  model: Any
  baseline: Any
  data: Any
  metrics: dict[str, dict]
  data_fingerprint: str
  epochs: int
  train_seconds: float
  config: Any = None
  extras: dict[str, Any] = dataclasses.field(default_factory=dict)

  def summary(self) -> dict:
    """The JSON-able part: metrics, fingerprint, epochs and time (no model, no data)."""
    return {"metrics": self.metrics, "data_fingerprint": self.data_fingerprint,
            "epochs": self.epochs, "train_seconds": round(self.train_seconds, 3)}

  def write(self, workdir: str) -> str:
    """Writes `summary()` to `<workdir>/result.json` (any gfile location); returns the path."""
    path = f"{workdir.rstrip('/')}/{RESULT_FILE}"
    tf.io.gfile.makedirs(workdir)
    # A temporary name, then a rename: a reader never sees half a file, and on file systems
    # where reopening for writing appends (TensorFlow's ram://) the old summary is replaced.
    temp = f"{path}.tmp-{uuid.uuid4().hex}"
    with tf.io.gfile.GFile(temp, "w") as f:
      json.dump(self.summary(), f, indent=2, sort_keys=True, default=_jsonable)
    tf.io.gfile.rename(temp, path, overwrite=True)
    return path


def read_summary(workdir: str) -> dict:
  """The `summary()` a finished run wrote to `workdir`."""
  path = f"{workdir.rstrip('/')}/{RESULT_FILE}"
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f"{path} does not exist: the run in {workdir} has not finished; "
                            "run the domain's train target with --workdir pointing there")
  with tf.io.gfile.GFile(path) as f:
    return json.load(f)


def _jsonable(value):
  if hasattr(value, "item"):   # numpy scalars
    return value.item()
  if hasattr(value, "tolist"):
    return value.tolist()
  raise TypeError(f"{type(value).__name__} is not JSON-serialisable")
