"""The serving benchmark runs end to end (short) and reports what it measured, CPU included."""

import contextlib
import io

import pytest

from serving import bench


def test_bench_drives_the_server_from_client_processes_and_prints_the_table(capsys):
  assert bench.main(["--model=affine", "--concurrency=1,2", "--seconds=0.5", "--rest",
                     "--markdown"]) == 0
  out = capsys.readouterr().out
  table = [line for line in out.splitlines() if line.startswith("| ") and "---" not in line][1:]
  modes = [(cells[0], int(cells[1])) for cells in
           ([c.strip() for c in line.strip("|").split("|")] for line in table)]
  assert modes == [("in-process", 1), ("in-process", 2), ("in-process batched (32 rows/call)", 1),
                   ("gRPC floor (bare grpcio)", 1), ("gRPC floor (bare grpcio)", 2),
                   ("gRPC", 1), ("gRPC", 2), ("REST", 1), ("REST", 2),
                   ("gRPC +batching", 1), ("gRPC +batching", 2),
                   ("REST +batching", 1), ("REST +batching", 2)]
  for line in table:
    cells = [c.strip() for c in line.strip("|").split("|")]
    qps, errors, server_cpu = float(cells[2]), int(cells[6]), float(cells[9])
    assert qps > 0 and errors == 0 and server_cpu > 0, line
    if not cells[0].startswith("in-process"):
      assert float(cells[10]) > 0, line  # the client processes' CPU per request
  assert "the QPS ratio can reach at most" in out and "load average" in out
  ratios = [line for line in out.splitlines() if "trellis / floor = " in line]
  assert [line.split(":")[0].strip() for line in ratios] == ["c=1", "c=2"]
  for line in ratios:  # both CPU figures measured, and the ratio is theirs
    floor_us, trellis_us = (float(line.split(f"{k} ")[1].split(" µs")[0]) for k in ("floor", "trellis"))
    assert floor_us > 0 and trellis_us > 0
    ratio = float(line.split("trellis / floor = ")[1].split(" ")[0])
    assert abs(ratio - trellis_us / floor_us) <= 0.02 * ratio + 0.01  # printed µs are rounded


def test_vision_bench_models_send_encoded_images():
  models = bench._models()
  for name in ("resnet20", "resnet50"):
    row = models[name].row
    assert row.shape == (1,) and isinstance(row[0], bytes) and models[name].input_name == "image_bytes"
  grpc_request, rest_request = bench._request_bytes(models["resnet20"])
  assert b'"b64"' in rest_request and len(grpc_request) > 50


def test_a_vision_model_without_its_export_says_how_to_publish_it(tmp_path):
  # (Serving the export vision publishes: tests/serving_bench_vision_test.py.)
  with pytest.raises(SystemExit, match=r"reads from --export_root: publish it with `bazel run "
                                       r"//vision:bench_exports -- --export_root=DIR"):
    bench.main(["--model=resnet20"])
  with pytest.raises(SystemExit, match=rf"--export_root={tmp_path} has no resnet50/<version>/ "
                                       rf"export; publish one with `bazel run //vision:bench_exports"):
    bench.main(["--model=resnet50", f"--export_root={tmp_path}"])
  with contextlib.redirect_stderr(io.StringIO()) as err, pytest.raises(SystemExit):
    bench.main(["--model=affine", f"--export_root={tmp_path}"])
  assert "--export_root is for the vision models" in err.getvalue()
