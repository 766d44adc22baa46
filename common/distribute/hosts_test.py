"""Launching across machines from a hosts file: parsing, the per-host commands, and two "hosts"
(localhost and 127.0.0.1, both this machine) running a real multi-worker and Horovod job."""

import io
import json
import os
import pathlib
import re
import shlex
import shutil
import sys

import pytest

import common
from common.distribute import launch

PY = sys.executable
REPO_ROOT = pathlib.Path(common.__file__).resolve().parent.parent


def hosts_file(tmp_path, text: str) -> str:
  path = tmp_path / "hosts.txt"
  path.write_text(text)
  return str(path)


def test_hosts_file_lines_and_slots(tmp_path):
  path = hosts_file(tmp_path, "# GPU boxes\n10.0.0.2:4\n10.0.0.3 slots=2  # second box\n\ngpu-3\n")
  assert launch.read_hosts(path) == [("10.0.0.2", 4), ("10.0.0.3", 2), ("gpu-3", 1)]


@pytest.mark.parametrize("text, says", [
    ("10.0.0.2:0\n", "line 1: '10.0.0.2:0' is not host[:slots] with slots >= 1"),
    ("a:b:c\n", "line 1: 'a:b:c' is not host[:slots]"),
    ("# nothing\n", "names no host"),
])
def test_bad_hosts_files_are_explained(tmp_path, text, says):
  with pytest.raises(SystemExit, match=re.escape(says)):
    launch.read_hosts(hosts_file(tmp_path, text))
  with pytest.raises(SystemExit, match="cannot read --hosts"):
    launch.read_hosts(str(tmp_path / "missing.txt"))


def test_remote_workers_start_over_ssh_with_their_tf_config():
  workers = launch.worker_commands(["python", "-m", "vision.main", "--workdir=gs://b/run"],
                                   [("10.0.0.2", 2), ("localhost", 1)], cwd="/opt/trellis",
                                   base_port=23456)
  names = [name for name, _, _ in workers]
  assert names == ["worker 0 on 10.0.0.2", "worker 1 on 10.0.0.2", "worker 2 on localhost"]
  cluster = json.loads(workers[0][2])["cluster"]["worker"]
  assert cluster[:2] == ["10.0.0.2:23456", "10.0.0.2:23457"]  # base_port + slot
  assert cluster[2].startswith("localhost:")  # a free port here
  _, argv, tf_config = workers[1]
  assert argv[:4] == ["ssh", "-o", "BatchMode=yes", "10.0.0.2"]
  assert argv[4] == ("cd /opt/trellis && TF_CONFIG=" + shlex.quote(tf_config)
                     + " exec python -m vision.main --workdir=gs://b/run")
  assert json.loads(tf_config)["task"] == {"type": "worker", "index": 1}
  assert workers[2][1] == ["python", "-m", "vision.main", "--workdir=gs://b/run"]  # no ssh here


def test_horovod_gets_the_hosts_and_their_slots(monkeypatch, tmp_path):
  (tmp_path / "horovodrun").write_text("#!/bin/sh\n")
  (tmp_path / "horovodrun").chmod(0o755)
  monkeypatch.setattr(launch.sys, "executable", str(tmp_path / "python"))
  assert launch.horovodrun_command(["python", "t.py"], 2, [("10.0.0.2", 4), ("10.0.0.3", 4)]) == [
      str(tmp_path / "horovodrun"), "-np", "8", "-H", "10.0.0.2:4,10.0.0.3:4", "--gloo",
      "python", "t.py"]


def tiny_job(workdir, kind):
  return [PY, "-m", "common.distribute.tiny_job", f"--workdir={workdir}", f"--kind={kind}",
          "--epochs=1", "--steps_per_epoch=4"]


def test_two_hosts_train_one_multi_worker_job(tmp_path):
  path = hosts_file(tmp_path, "localhost\n127.0.0.1\n")
  out = io.StringIO()
  code = launch.run(tiny_job(tmp_path / "mw", "multi_worker"), 0, hosts=launch.read_hosts(path),
                    cwd=str(REPO_ROOT), out=out)
  log = out.getvalue()
  assert code == 0, log
  assert "[worker 0 on localhost]" in log and "[worker 1 on 127.0.0.1]" in log
  assert "launch: all 2 worker(s) finished successfully." in log
  for rank in (0, 1):  # one cluster of two workers, not two separate jobs
    assert json.loads((tmp_path / "mw" / f"result-{rank}.json").read_text())["replicas"] == 2


@pytest.mark.skipif(not shutil.which("horovodrun", path=os.path.dirname(PY)),
                    reason="Horovod is built by `make horovod`; CI requires it (launch_test)")
def test_two_hosts_train_one_horovod_job(tmp_path, monkeypatch):
  monkeypatch.setenv("HOME", str(tmp_path))  # horovodrun writes ~/.horovod
  path = hosts_file(tmp_path, "localhost:1\n127.0.0.1:1\n")
  out = io.StringIO()
  code = launch.run(tiny_job(tmp_path / "hvd", "horovod"), 0, backend="horovod",
                    hosts=launch.read_hosts(path), cwd=str(REPO_ROOT), out=out)
  assert code == 0, out.getvalue()
  for rank in (0, 1):
    assert json.loads((tmp_path / "hvd" / f"result-{rank}.json").read_text())["replicas"] == 2
