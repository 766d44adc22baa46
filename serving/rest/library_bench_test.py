"""The REST library bench runs end to end on a tiny budget and prints its comparison table."""

from serving.rest import library_bench


def test_bench_prints_both_libraries_and_the_abuse_probes(capsys):
  assert library_bench.main(["--seconds=0.5", "--rows=1"]) == 0
  rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
          for line in capsys.readouterr().out.splitlines() if line.startswith("| ")}
  assert set(rows) == {"library", "aiohttp", "uvicorn+starlette"}
  assert float(rows["aiohttp"][0]) > 0 and float(rows["uvicorn+starlette"][0]) > 0
  assert rows["aiohttp"][1] == "1.00"  # the ratio column is relative to aiohttp
  assert rows["aiohttp"][2] == "0"  # every slow head was cut by the 2 s header timeout
  assert "400" in rows["aiohttp"][3]  # Content-Length: -1 refused on the head
