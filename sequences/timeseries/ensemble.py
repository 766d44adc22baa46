"""Ensemble members as text: `config.ensemble_members` -> one config per member.

    config.model = "Ensemble"
    config.lookback = 512  # the window the ensemble (and its export) reads: >= every member's
    config.ensemble_members = "Linear[lookback=512,seed=1];DLinear[lookback=512];PatchTST[lookback=336]"

Each member is a model name from `models.py`, optionally followed by `[key=value,...]` overrides
of the ensemble's own config (the same dotted keys as the bench's `--set`, e.g. `arch.dropout=0.2`).
Members are separated by `;`. `train.train_and_evaluate` trains every member as an ordinary run
(its own seed, look-back, schedule and early stopping on validation) and `models.Ensemble`
averages their forecasts; a member may read fewer rows than the ensemble (the last ones).
"""

from __future__ import annotations

import ast
import re

import ml_collections

SEPARATOR = ";"
_SPEC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*(?:\[(.*)\])?\s*$")


def parse_overrides(text: str, where: str = "overrides") -> dict:
  """"lookback=512,seed=1" -> {"lookback": 512, "seed": 1}; values are Python literals or text."""
  overrides = {}
  for item in filter(None, (part.strip() for part in text.split(","))):
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
      raise ValueError(f"{where}: expected key=value items separated by commas, got {item!r} "
                       "(e.g. Linear[lookback=512,seed=1])")
    try:
      overrides[key.strip()] = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
      overrides[key.strip()] = value.strip()
  return overrides


def parse_members(text: str) -> list[tuple[str, dict]]:
  """"Linear[seed=1];DLinear" -> [("Linear", {"seed": 1}), ("DLinear", {})]."""
  parts = [p for p in (part.strip() for part in text.split(SEPARATOR)) if p]
  if not parts:
    raise ValueError("model=Ensemble needs members: set config.ensemble_members to "
                     "';'-separated models, e.g. 'Linear[seed=0];Linear[seed=1]'")
  members = []
  for part in parts:
    match = _SPEC.match(part)
    if not match:
      raise ValueError(f"ensemble member {part!r} is not `Model` or `Model[key=value,...]` "
                       "(separate members with ';', e.g. 'Linear[seed=0];DLinear[lookback=512]')")
    members.append((match.group(1), parse_overrides(match.group(2) or "", f"member {part!r}")))
  return members


def format_member(model: str, overrides: dict) -> str:
  """The inverse of one `parse_members` item: ("Linear", {"seed": 1}) -> "Linear[seed=1]"."""
  if not overrides:
    return model
  return model + "[" + ",".join(f"{k}={v}" for k, v in overrides.items()) + "]"


def apply_overrides(config: ml_collections.ConfigDict, overrides: dict) -> None:
  """Sets dotted keys (`arch.dropout`) in place; a locked config rejects misspelled ones."""
  for key, value in overrides.items():
    node = config
    *parents, leaf = key.split(".")
    for p in parents:
      node = node[p]
    node[leaf] = value


def member_configs(config: ml_collections.ConfigDict) -> list[ml_collections.ConfigDict]:
  """One full training config per member: the ensemble's config with the member's overrides."""
  from sequences.timeseries import models

  configs = []
  for name, overrides in parse_members(config.ensemble_members):
    where = format_member(name, overrides)
    if name not in models.LEARNED + models.BASELINES:
      raise ValueError(f"ensemble member {where!r}: unknown model {name!r}; choose one of "
                       f"{', '.join(models.LEARNED + models.BASELINES)}")
    for key in ("horizon", "data", "model", "ensemble_members"):
      if any(k == key or k.startswith(key + ".") for k in overrides):
        raise ValueError(f"ensemble member {where!r} may not change {key!r}: every member "
                         "forecasts the ensemble's series and horizon; set it on the ensemble")
    member = ml_collections.ConfigDict(config.to_dict())
    member.lock()
    member.model = name
    member.ensemble_members = ""
    apply_overrides(member, overrides)
    if member.lookback > config.lookback:
      raise ValueError(f"ensemble member {where!r} reads {member.lookback} rows but the ensemble "
                       f"reads {config.lookback}; set the ensemble's lookback to at least "
                       f"{member.lookback}")
    configs.append(member)
  return configs
