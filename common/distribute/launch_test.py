"""Tests for the local launcher: TF_CONFIG, log prefixes, and stopping everyone when one fails."""

import io
import json
import sys
import time

import pytest

from common.distribute import launch

PY = sys.executable


def test_tf_configs_describe_one_cluster_with_distinct_tasks():
  configs = [json.loads(c) for c in launch.tf_configs(3, ports=[1001, 1002, 1003])]
  assert [c["task"] for c in configs] == [{"type": "worker", "index": i} for i in range(3)]
  assert all(c["cluster"] == {"worker": ["127.0.0.1:1001", "127.0.0.1:1002", "127.0.0.1:1003"]}
             for c in configs)


def test_free_ports_are_distinct():
  ports = launch.free_ports(4)
  assert len(set(ports)) == 4 and all(p > 0 for p in ports)


def test_workers_get_their_tf_config_and_prefixed_logs(tmp_path):
  out = io.StringIO()
  code = launch.run(
      [PY, "-c", "import json, os; t = json.loads(os.environ['TF_CONFIG']); "
                 "print('index', t['task']['index'], 'of', len(t['cluster']['worker']))"],
      num_workers=2, cwd=str(tmp_path), out=out)
  lines = out.getvalue().splitlines()
  assert code == 0
  assert "[worker 0] index 0 of 2" in lines
  assert "[worker 1] index 1 of 2" in lines
  assert lines[-1] == "launch: all 2 worker(s) finished successfully."


def test_one_failure_stops_the_others_promptly(tmp_path):
  # Worker 1 fails at once; worker 0 would otherwise run for 10 minutes (like a worker blocked in
  # an all-reduce waiting for its dead peer).
  script = ("import json, os, sys, time; i = json.loads(os.environ['TF_CONFIG'])['task']['index']; "
            "print('started', flush=True); sys.exit(3) if i == 1 else time.sleep(600)")
  out = io.StringIO()
  start = time.monotonic()
  code = launch.run([PY, "-c", script], num_workers=2, cwd=str(tmp_path), out=out, grace_seconds=5)
  elapsed = time.monotonic() - start
  assert code == 3
  assert elapsed < 20
  assert "launch: worker 1 (pid" in out.getvalue()
  assert "exited with code 3; stopping the other 1 worker(s)" in out.getvalue()


def test_a_worker_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path):
  script = ("import json, os, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "i = json.loads(os.environ['TF_CONFIG'])['task']['index']; "
            "print('up', flush=True); time.sleep(0.5); sys.exit(1) if i == 0 else time.sleep(600)")
  start = time.monotonic()
  code = launch.run([PY, "-c", script], num_workers=2, cwd=str(tmp_path), out=io.StringIO(),
                    grace_seconds=1)
  assert code == 1
  assert time.monotonic() - start < 15


def test_a_killed_worker_is_named_with_its_signal(tmp_path):
  script = ("import json, os, signal, time; i = json.loads(os.environ['TF_CONFIG'])['task']['index']; "
            "os.kill(os.getpid(), signal.SIGKILL) if i == 0 else time.sleep(600)")
  out = io.StringIO()
  code = launch.run([PY, "-c", script], num_workers=2, cwd=str(tmp_path), out=out, grace_seconds=2)
  assert code == 128 + 9
  assert "worker 0 (pid" in out.getvalue() and "was killed by SIGKILL" in out.getvalue()


def test_missing_program_is_a_clear_error(tmp_path):
  with pytest.raises(SystemExit, match="cannot start 'no-such-program-xyz'"):
    launch.run(["no-such-program-xyz"], num_workers=2, cwd=str(tmp_path), out=io.StringIO())


@pytest.mark.parametrize("argv, message", [
    (["--workers", "2"], "put the command to run after `--`"),
    (["--workers", "2", "--"], "no command after `--`"),
    (["--workers", "0", "--", "python"], "need at least 1 worker"),
])
def test_bad_command_lines_are_explained(capsys, argv, message):
  with pytest.raises(SystemExit):
    launch.parse_args(argv)
  assert message in capsys.readouterr().err


def test_horovod_backend_fronts_horovodrun(monkeypatch, tmp_path):
  fake_bin = tmp_path / "bin"
  fake_bin.mkdir()
  (fake_bin / "horovodrun").write_text("#!/bin/sh\necho horovodrun \"$@\"\n")
  (fake_bin / "horovodrun").chmod(0o755)
  monkeypatch.setattr(launch.sys, "executable", str(fake_bin / "python"))
  assert launch.horovodrun_command(["python", "train.py"], 3) == [
      str(fake_bin / "horovodrun"), "-np", "3", "-H", "localhost:3", "--gloo", "python", "train.py"]
  out = io.StringIO()
  assert launch.run(["python", "train.py"], 2, backend="horovod", cwd=str(tmp_path), out=out) == 0
  assert "[horovodrun] horovodrun -np 2 -H localhost:2 --gloo python train.py" in out.getvalue()


def test_horovod_backend_without_horovod_says_how_to_build(monkeypatch, tmp_path):
  monkeypatch.setattr(launch.sys, "executable", str(tmp_path / "python"))
  monkeypatch.setenv("PATH", str(tmp_path))
  with pytest.raises(SystemExit, match="make horovod"):
    launch.horovodrun_command(["python"], 2)
