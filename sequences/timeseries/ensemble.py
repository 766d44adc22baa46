"""Ensemble members as config code: `config.ensemble.members` -> one training config per member.

    config.model = "Ensemble"
    config.lookback = 512  # the window the ensemble (and its export) reads: >= every member's
    config.ensemble.members = ml_collections.ConfigDict({
        "linear_seed1": {"model": "Linear", "lookback": 512, "seed": 1},
        "dlinear": {"model": "DLinear", "lookback": 512},
        "patchtst": {"model": "PatchTST", "lookback": 336, "arch": {"dropout": 0.2}},
    })

Each member is named (the names only label it; members are taken in name order) and holds a model
name from `models.py` plus any fields of the ensemble's own config to change, nested as in the
config (`arch: {dropout: 0.2}`). A ConfigDict of members rather than a list: configs hold plain
values or nested ConfigDicts (common/config_file.py), so a member stays overridable from the
command line (`--config.ensemble.members.dlinear.seed=3`) and saves as JSON with the run.
`train.train_and_evaluate` trains every member as an ordinary run (its own seed, look-back,
schedule and early stopping on validation) and `models.Ensemble` averages their forecasts; a member
may read fewer rows than the ensemble (the last ones). `configs/ensemble.py` is an example.
"""

from __future__ import annotations

import difflib

import ml_collections

from sequences.timeseries import models

ENSEMBLE = "Ensemble"
# Fields every member shares with the ensemble: it forecasts one series over one horizon.
_SHARED = ("horizon", "data", "ensemble")


def member_configs(config: ml_collections.ConfigDict) -> list[ml_collections.ConfigDict]:
  """One full training config per member: the ensemble's config with the member's fields.

  Raises:
    ValueError: no members, a member without a known model, a member changing a shared field
      (horizon, data) or reading more rows than the ensemble, or a field the config does not have
      (each naming the member, the field and the fix).
  """
  members = config.ensemble.members
  if not members:
    raise ValueError(
        "model=Ensemble needs members: set config.ensemble.members to a ConfigDict of named "
        "members, e.g. ml_collections.ConfigDict({'a': {'model': 'Linear'}, 'b': {'model': "
        "'DLinear', 'seed': 1}}) (see sequences/timeseries/configs/ensemble.py)")
  known = models.LEARNED + models.BASELINES
  configs = []
  for key, spec in members.items():
    fields = spec.to_dict() if isinstance(spec, ml_collections.ConfigDict) else spec
    if not isinstance(fields, dict):
      raise ValueError(f"ensemble member {key!r} is {fields!r}; a member is a dict of config "
                       "fields with its model, e.g. {'model': 'Linear', 'seed': 1}")
    fields = dict(fields)
    name = fields.pop("model", None)
    if name not in known:
      raise ValueError(f"ensemble member {key!r}: model {name!r} is not a model; set its 'model' "
                       f"to one of {', '.join(known)}")
    for shared in _SHARED:
      if shared in fields:
        raise ValueError(f"ensemble member {key!r} may not change {shared!r}: every member "
                         "forecasts the ensemble's series and horizon; set it on the ensemble")
    member = ml_collections.ConfigDict(config.to_dict())
    member.lock()
    member.model = name
    member.ensemble.members = ml_collections.ConfigDict()
    member.ensemble.member_root = ""
    _apply(member, fields, f"ensemble member {key!r}")
    if member.lookback > config.lookback:
      raise ValueError(f"ensemble member {key!r} reads {member.lookback} rows but the ensemble "
                       f"reads {config.lookback}; set the ensemble's lookback to at least "
                       f"{member.lookback}")
    configs.append(member)
  return configs


def _apply(config: ml_collections.ConfigDict, fields: dict, where: str, prefix: str = "") -> None:
  """Sets `fields` (nested dicts for nested ConfigDicts) in `config`, naming any unknown field."""
  for key, value in fields.items():
    if key not in config:
      close = difflib.get_close_matches(key, list(config.keys()), n=1)
      hint = f"; did you mean '{prefix}{close[0]}'?" if close else ""
      raise ValueError(f"{where}: '{prefix}{key}' is not a config field{hint} (fields: "
                       f"{', '.join(sorted(config.keys()))})")
    if isinstance(config[key], ml_collections.ConfigDict):
      if not isinstance(value, dict):
        raise ValueError(f"{where}: {prefix}{key!r} is a group of fields; give a dict, "
                         f"e.g. {{'{key}': {{...}}}}")
      _apply(config[key], value, where, f"{prefix}{key}.")
      continue
    try:
      config[key] = value
    except TypeError as e:
      raise ValueError(f"{where}: {prefix}{key}={value!r} has the wrong type ({e})") from e
