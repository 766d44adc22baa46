"""cpu: reads the model name and instruction-set flags from /proc/cpuinfo."""

from common.distribute import cpu


def _fake_cpuinfo(monkeypatch, text):
  cpu._cpuinfo.cache_clear()
  monkeypatch.setattr(cpu.pathlib.Path, "read_text", lambda self: text)


def test_avx2_only_cpu_has_no_native_bfloat16(monkeypatch):
  _fake_cpuinfo(monkeypatch, "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse avx avx2 fma\n"
                             "processor\t: 1\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse avx avx2\n")
  assert not cpu.native_bfloat16()
  assert cpu.describe() == "AMD EPYC (avx2; no native bfloat16)"
  cpu._cpuinfo.cache_clear()


def test_amx_cpu_has_native_bfloat16(monkeypatch):
  _fake_cpuinfo(monkeypatch, "model name\t: Intel Xeon\nflags\t\t: avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n")
  assert cpu.native_bfloat16()
  assert cpu.describe() == ("Intel Xeon (avx2, avx512f, avx512_bf16, amx_bf16, amx_tile; "
                            "native bfloat16)")
  cpu._cpuinfo.cache_clear()


def test_this_machine_is_described():
  cpu._cpuinfo.cache_clear()
  assert cpu.describe()  # whatever it is, one non-empty line
