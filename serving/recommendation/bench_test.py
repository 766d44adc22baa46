"""The Recommend benchmark runs end to end (small and short) and reports what it measured."""

from serving.recommendation import bench


def test_bench_drives_the_server_from_client_processes_and_prints_the_table(capsys):
  assert bench.main(["--sizes=2000", "--indexes=exact,faiss", "--concurrency=1,2", "--seconds=1",
                     "--warmup_seconds=0.2"]) == 0
  out = capsys.readouterr().out
  table = [line for line in out.splitlines() if line.startswith("| 2,000 |")]  # the final table
  assert len(table) == 2 * 2  # (exact, faiss) x (1, 2 clients)
  for line in table:
    cells = [c.strip() for c in line.strip("|").split("|")]
    clients, qps, p50, errors, in_process = int(cells[3]), float(cells[4]), float(cells[5]), \
        int(cells[8]), float(cells[9])
    assert clients in (1, 2) and qps > 0 and p50 > 0 and errors == 0 and in_process > 0
  assert "faiss IVF" in out and "Highest QPS with p99 < 50 ms" in out and "load average" in out


def test_summary_picks_the_highest_qps_under_the_aim():
  rows = [bench.Row(10, "faiss", 1.0, c, qps, 1, 2, p99, 0, 1, 1)
          for c, qps, p99 in [(1, 100, 10), (4, 300, 40), (16, 400, 90)]]
  assert bench.summary(rows) == ["10 items, faiss: 300 QPS at p99 40.0 ms (4 clients)"]
