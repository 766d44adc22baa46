"""Cloud TPU accelerator types: which exist, and how many hosts each slice has.

An accelerator type is `<family>-<size>`, e.g. `v4-32`. What `<size>` counts differs by
generation, which is the usual source of confusion:

| family            | size counts   | chips per host | sizes sold (Cloud TPU docs)                      |
|-------------------|---------------|----------------|--------------------------------------------------|
| v2                | TensorCores   | 4 (8 cores)    | 8, 32, 128, 256, 512                             |
| v3                | TensorCores   | 4 (8 cores)    | 8, 32, 64, 128, 256, 512, 1024, 2048             |
| v4                | TensorCores   | 4 (8 cores)    | 8, 16, 32, 64, 128, 256, 512, 1024, 1536, 2048, 4096 |
| v5litepod (v5e)   | chips         | 4 (1–8 alone)  | 1, 4, 8, 16, 32, 64, 128, 256                    |
| v5p               | TensorCores   | 4 (8 cores)    | multiples of 8 from 8 to 12288                   |
| v6e               | chips         | 4 (1–8 alone)  | 1, 4, 8, 16, 32, 64, 128, 256                    |

So `v4-32` is 16 chips on 4 hosts, while `v5litepod-16` is 16 chips on 4 hosts too. A slice
with more than one host is a *pod slice*: every host runs the same program, and whatever they
share (checkpoints, logs, status) must live in Cloud Storage, not on a host's disk.
"""

import dataclasses
import re

# `v5e` is what people say; `v5litepod` is what the API accepts.
ALIASES = {"v5e": "v5litepod"}


@dataclasses.dataclass(frozen=True)
class Family:
  """One TPU generation as sold on Cloud TPU VMs."""
  name: str
  size_unit: str          # "cores" or "chips": what the number after the dash counts
  per_host: int           # size units per host in a multi-host slice
  max_single_host: int    # largest size that is one host
  sizes: tuple[int, ...]  # sizes that exist


FAMILIES = {
    f.name: f for f in (
        Family("v2", "cores", 8, 8, (8, 32, 128, 256, 512)),
        Family("v3", "cores", 8, 8, (8, 32, 64, 128, 256, 512, 1024, 2048)),
        Family("v4", "cores", 8, 8,
               (8, 16, 32, 64, 128, 256, 512, 1024, 1536, 2048, 4096)),
        Family("v5litepod", "chips", 4, 8, (1, 4, 8, 16, 32, 64, 128, 256)),
        Family("v5p", "cores", 8, 8, tuple(range(8, 12288 + 1, 8))),
        Family("v6e", "chips", 4, 8, (1, 4, 8, 16, 32, 64, 128, 256)),
    )
}

_PATTERN = re.compile(r"^([a-z0-9]+)-(\d+)$")


class AcceleratorTypeError(ValueError):
  """An accelerator type that Cloud TPU does not sell."""


@dataclasses.dataclass(frozen=True)
class AcceleratorType:
  """A parsed accelerator type such as `v4-32`."""
  family: Family
  size: int

  @property
  def name(self) -> str:
    """The name the Cloud TPU API expects (aliases resolved), e.g. `v5litepod-16`."""
    return f"{self.family.name}-{self.size}"

  @property
  def num_hosts(self) -> int:
    """TPU VMs in the slice; the startup script runs once on each."""
    if self.size <= self.family.max_single_host:
      return 1
    return self.size // self.family.per_host

  @property
  def is_pod_slice(self) -> bool:
    return self.num_hosts > 1


def _sizes_hint(family: Family) -> str:
  if len(family.sizes) > 12:
    return f"multiples of 8 from {family.sizes[0]} to {family.sizes[-1]}"
  return ", ".join(str(s) for s in family.sizes)


def parse(text: str) -> AcceleratorType:
  """Parses and checks an accelerator type.

  Args:
    text: e.g. "v4-32", "v5e-16" (read as "v5litepod-16"), "v6e-8".

  Returns:
    The accelerator type.

  Raises:
    AcceleratorTypeError: the family or size does not exist; the message lists what does.
  """
  match = _PATTERN.match(str(text).strip().lower())
  if not match:
    raise AcceleratorTypeError(
        f"accelerator_type {text!r} is not of the form <family>-<size>; "
        f"use e.g. v4-8, v4-32, v5litepod-16 (families: {', '.join(FAMILIES)})")
  family_name, size = ALIASES.get(match[1], match[1]), int(match[2])
  if family_name not in FAMILIES:
    raise AcceleratorTypeError(
        f"accelerator_type {text!r}: unknown TPU family {match[1]!r}; "
        f"use one of {', '.join(FAMILIES)} (v5e is accepted for v5litepod)")
  family = FAMILIES[family_name]
  if size not in family.sizes:
    raise AcceleratorTypeError(
        f"accelerator_type {text!r}: {family.name} slices do not come with {size} "
        f"{family.size_unit}; use one of: {_sizes_hint(family)}")
  return AcceleratorType(family, size)
