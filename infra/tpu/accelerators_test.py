"""Tests for accelerator type parsing and host counts."""

import pytest

from infra.tpu import accelerators


@pytest.mark.parametrize("text, name, hosts", [
    ("v2-8", "v2-8", 1),
    ("v3-32", "v3-32", 4),        # 32 cores / 8 per host
    ("v4-8", "v4-8", 1),
    ("v4-32", "v4-32", 4),        # 16 chips, 4 hosts
    ("v4-4096", "v4-4096", 512),
    ("v5e-8", "v5litepod-8", 1),  # v5e counts chips; 8 chips still fit one host
    ("v5e-16", "v5litepod-16", 4),
    ("v5litepod-256", "v5litepod-256", 64),
    ("v5p-8", "v5p-8", 1),
    ("v5p-12288", "v5p-12288", 1536),
    ("v6e-1", "v6e-1", 1),
    ("V6E-64", "v6e-64", 16),     # case does not matter
])
def test_parses_known_types_and_counts_hosts(text, name, hosts):
  accelerator = accelerators.parse(text)
  assert accelerator.name == name
  assert accelerator.num_hosts == hosts
  assert accelerator.is_pod_slice == (hosts > 1)


@pytest.mark.parametrize("text, says", [
    ("v4-12", "v4 slices do not come with 12 cores; use one of: 8, 16, 32"),
    ("v3-16", "use one of: 8, 32, 64"),
    ("v5p-12", "multiples of 8 from 8 to 12288"),
    ("v5e-2", "v5litepod slices do not come with 2 chips"),
    ("v7-8", "unknown TPU family 'v7'; use one of v2, v3, v4, v5litepod, v5p, v6e"),
    ("tpu-v4-pod", "is not of the form <family>-<size>"),
    ("v4", "is not of the form <family>-<size>"),
])
def test_rejects_types_that_do_not_exist_and_says_what_does(text, says):
  with pytest.raises(accelerators.AcceleratorTypeError, match="accelerator_type") as info:
    accelerators.parse(text)
  assert says in str(info.value)
