"""What this machine's CPU can do natively, for precision choices and benchmark reports.

bfloat16 pays off on a CPU only when the instruction set has bfloat16 arithmetic: AVX-512 BF16
(`avx512_bf16`, Cooper Lake and later, Zen 4) or AMX (`amx_bf16`, Sapphire Rapids and later).
Without them oneDNN converts every bfloat16 operand to float32 and back, and TensorFlow's
non-oneDNN fallbacks for bfloat16 gradients are slower still: on an AVX2-only AMD EPYC a
mixed_bfloat16 ResNet training step measured 15x slower than float32 (XLA, `jit_compile=True`,
brings it back to float32 speed, never faster). So `mixed_bfloat16` is for TPUs and for CPUs
where `native_bfloat16()` is true.
"""

import functools
import pathlib

_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
_ISA_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile")


@functools.cache
def _cpuinfo() -> tuple[str, frozenset[str]]:
  """(model name, flag set) of the first CPU in /proc/cpuinfo; ("unknown", {}) elsewhere."""
  try:
    text = pathlib.Path("/proc/cpuinfo").read_text()
  except OSError:
    return "unknown", frozenset()
  model, flags = "unknown", frozenset()
  for line in text.splitlines():
    key, _, value = line.partition(":")
    key = key.strip()
    if key == "model name" and model == "unknown":
      model = value.strip()
    elif key == "flags" and not flags:
      flags = frozenset(value.split())
  return model, flags


def native_bfloat16() -> bool:
  """True when the CPU has bfloat16 arithmetic (AVX-512 BF16 or AMX-BF16)."""
  return any(flag in _cpuinfo()[1] for flag in _BF16_FLAGS)


def describe() -> str:
  """One line for logs and benchmark headers, e.g. 'AMD EPYC (avx2; no native bfloat16)'."""
  model, flags = _cpuinfo()
  isa = [flag for flag in _ISA_FLAGS if flag in flags] or ["no AVX2"]
  bf16 = "native bfloat16" if native_bfloat16() else "no native bfloat16"
  return f"{model} ({', '.join(isa)}; {bf16})"
