"""Metrics per slice (class, popularity bucket, activity bucket, horizon step) and a text table.

An average hides who the model fails. `per_slice` runs any metric on each
slice's examples; `evaluate` runs several metrics at once and adds the example
count and an overall row; `format_table` prints the result (model and baseline
side by side, with ratio columns):

    rows = slices.evaluate({"rmse": regression.rmse, "mae": regression.mae},
                           y, p, slice_keys=category)
    print(slices.format_table(rows, title="test, by category"))

    slice        count    rmse     mae
    all           1000  0.5123  0.4012
    books          400  0.3100  0.2500
    ...

`y_true`/`y_pred` can be arrays (sliced along the first axis) or lists (e.g.
ranked ids and sets of relevant items for `ranking` metrics).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

OVERALL = "all"


def _take(values, index: np.ndarray):
  if isinstance(values, np.ndarray):
    return values[index]
  return [values[i] for i in index]


def _groups(slice_keys, n: int) -> dict[Any, np.ndarray]:
  keys = np.asarray(slice_keys)
  if keys.ndim != 1 or keys.shape[0] != n:
    raise ValueError(f"slice_keys must hold one key per example ({n}), got shape {keys.shape}")
  groups = {}
  for key in sorted(set(keys.tolist()), key=lambda k: (str(type(k)), k)):
    groups[key] = np.flatnonzero(keys == key)
  return groups


def counts(slice_keys) -> dict[Any, int]:
  """Number of examples per slice key, sorted by key."""
  keys = np.asarray(slice_keys)
  return {k: int(v.size) for k, v in _groups(keys, keys.shape[0]).items()}


def per_slice(metric_fn: Callable, y_true, y_pred, slice_keys, *,
              min_count: int = 1) -> dict[Any, float]:
  """`metric_fn(y_true[s], y_pred[s])` for each slice s, sorted by slice key.

  Args:
    metric_fn: any metric taking (y_true, y_pred); bind extra arguments with
      functools.partial or a lambda (e.g. `lambda y, p: ranking.recall_at_k(p, y, 10)`).
    y_true, y_pred: arrays or lists with one entry per example.
    slice_keys: one hashable key per example.
    min_count: slices with fewer examples are reported as NaN (too small to trust).

  Returns:
    {slice_key: value}.
  """
  if len(y_true) != len(y_pred):
    raise ValueError(f"y_true has {len(y_true)} examples but y_pred has {len(y_pred)}")
  result = {}
  for key, index in _groups(slice_keys, len(y_true)).items():
    if index.size < min_count:
      result[key] = math.nan
    else:
      result[key] = float(metric_fn(_take(y_true, index), _take(y_pred, index)))
  return result


def evaluate(metrics: Mapping[str, Callable], y_true, y_pred, slice_keys, *,
             min_count: int = 1) -> dict[Any, dict[str, float]]:
  """Rows {slice: {"count": n, metric: value, ...}}, starting with the overall row "all"."""
  rows: dict[Any, dict[str, float]] = {OVERALL: {"count": len(y_true)}}
  for name, fn in metrics.items():
    rows[OVERALL][name] = float(fn(y_true, y_pred))
  slice_counts = counts(slice_keys)
  for name, fn in metrics.items():
    for key, value in per_slice(fn, y_true, y_pred, slice_keys, min_count=min_count).items():
      rows.setdefault(key, {"count": slice_counts[key]})[name] = value
  return rows


def bucketize(values, edges: Sequence[float]) -> np.ndarray:
  """Labels like "[10, 100)" for each value, for slicing by e.g. item popularity.

  Args:
    values: numbers [n].
    edges: increasing bucket edges; values below the first edge go to "<e0",
      at or above the last to ">=eN".
  """
  edges = list(edges)
  if sorted(edges) != edges or len(set(edges)) != len(edges):
    raise ValueError(f"edges must be strictly increasing, got {edges}")
  fmt = "{:g}".format
  labels = [f"<{fmt(edges[0])}",
            *(f"[{fmt(a)}, {fmt(b)})" for a, b in itertools.pairwise(edges)),
            f">={fmt(edges[-1])}"]
  return np.array(labels)[np.searchsorted(edges, np.asarray(values), side="right")]


def _number(value) -> float | None:
  """A finite float, or None for missing, NaN, text and booleans (no ratio of those)."""
  if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
    return float(value) if math.isfinite(float(value)) else None
  return None


def _cell(value, digits: int) -> str:
  if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
    return str(int(value))
  if value is None or (isinstance(value, float) and math.isnan(value)):
    return "—"
  if isinstance(value, (float, np.floating)):
    return f"{value:.{digits}f}"
  return str(value)


def format_table(rows: Mapping[Any, Mapping[str, Any]], *, columns: Sequence[str] | None = None,
                 ratios: Sequence[tuple[str, str]] = (), title: str | None = None,
                 digits: int = 4, key_header: str = "slice") -> str:
  """A fixed-width text table: one line per row key, one column per metric.

  Args:
    rows: {row_key: {column: value}} (e.g. from `evaluate`).
    columns: column order; default: order of first appearance.
    ratios: (numerator, denominator) column pairs to add as "a/b" columns, e.g.
      ("model_rmse", "baseline_rmse"); a zero or missing denominator shows "—".
    title: a line printed above the table.
    digits: decimals for floats.
    key_header: header of the first column.
  """
  if columns is None:
    columns = list(dict.fromkeys(c for row in rows.values() for c in row))
  table = [[key_header, *columns, *(f"{a}/{b}" for a, b in ratios)]]
  for key, row in rows.items():
    line = [str(key)] + [_cell(row.get(c), digits) for c in columns]
    for a, b in ratios:
      num, den = _number(row.get(a)), _number(row.get(b))
      ok = num is not None and den is not None and den != 0
      line.append(_cell(num / den, 2) if ok else "—")
    table.append(line)
  widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
  lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                     enumerate(zip(r, widths, strict=True))) for r in table]
  return "\n".join(([title] if title else []) + lines)
