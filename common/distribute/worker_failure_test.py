"""When one worker of a multi-worker job dies, the job fails fast and a restart resumes.

Without the launcher the surviving worker would block in its next all-reduce waiting for the
dead peer. The launcher notices the death, stops the survivor and exits non-zero naming the
worker; running the same command again resumes from the chief's BackupAndRestore backup.
"""

import csv
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import common

REPO_ROOT = pathlib.Path(common.__file__).resolve().parent.parent
EPOCHS, STEPS, BACKUP_EVERY = 3, 20, 5
TOTAL = EPOCHS * STEPS
PROMPT_SECONDS = 30  # launcher's 10 s SIGTERM grace period plus process teardown on a busy machine


def job(workdir, *extra):
  return [sys.executable, "-m", "common.distribute.launch", "--workers", "2", "--",
          sys.executable, "-m", "common.distribute.tiny_job", f"--workdir={workdir}",
          "--kind=multi_worker", f"--epochs={EPOCHS}", f"--steps_per_epoch={STEPS}",
          f"--backup_every_steps={BACKUP_EVERY}", *extra]


def wait_for(predicate, timeout, what, process):
  deadline = time.monotonic() + timeout
  while not predicate():
    assert process.poll() is None, f"the job ended early while waiting for {what}"
    assert time.monotonic() < deadline, f"timed out waiting for {what}"
    time.sleep(0.05)


def epochs_logged(workdir):
  path = workdir / "train_log.csv"
  return len(list(csv.DictReader(path.open()))) if path.exists() else 0


def test_killed_worker_fails_the_job_promptly_and_restart_resumes(tmp_path):
  env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), *sys.path]))
  out_path = tmp_path / "first.log"
  with out_path.open("w") as out:
    first = subprocess.Popen(job(tmp_path, "--step_seconds=0.2"), env=env, stdout=out,
                             stderr=subprocess.STDOUT, cwd=REPO_ROOT)
    try:
      wait_for(lambda: epochs_logged(tmp_path) == 1, 300, "the first epoch", first)
      marker = tmp_path / "backup" / "chief" / "checkpoint"
      seen = marker.stat().st_mtime_ns
      wait_for(lambda: marker.stat().st_mtime_ns != seen, 60, "a mid-epoch backup", first)
      victim = int((tmp_path / "pid-1").read_text())
      os.kill(victim, signal.SIGKILL)
      killed_at = time.monotonic()
      code = first.wait(120)
      elapsed = time.monotonic() - killed_at
    finally:
      first.kill()
  log = out_path.read_text()
  assert code != 0
  assert elapsed < PROMPT_SECONDS, f"the job took {elapsed:.0f} s to fail"
  assert f"launch: worker 1 (pid {victim}) was killed by SIGKILL; stopping the other 1 worker(s)" in log
  assert not list(tmp_path.glob("result-*.json"))

  second = subprocess.run(job(tmp_path), env=env, capture_output=True, text=True, timeout=400,
                          cwd=REPO_ROOT)
  assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
  results = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("result-*.json"))]
  assert len(results) == 2
  for result in results:
    resumed_at = TOTAL - result["steps_run"]
    assert STEPS < resumed_at < TOTAL and resumed_at % BACKUP_EVERY == 0, resumed_at
  assert results[0]["weights"] == results[1]["weights"]
  assert epochs_logged(tmp_path) == EPOCHS
