"""A training run killed with SIGKILL mid-epoch resumes from its backup and completes."""

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


def tiny_job(workdir, *extra):
  return [sys.executable, "-m", "common.distribute.tiny_job", f"--workdir={workdir}",
          f"--epochs={EPOCHS}", f"--steps_per_epoch={STEPS}",
          f"--backup_every_steps={BACKUP_EVERY}", *extra]


def wait_for(predicate, timeout, what):
  deadline = time.monotonic() + timeout
  while not predicate():
    if time.monotonic() > deadline:
      raise AssertionError(f"timed out waiting for {what}")
    time.sleep(0.05)


def csv_rows(workdir):
  path = workdir / "train_log.csv"
  return list(csv.DictReader(path.open())) if path.exists() else []


def test_sigkill_mid_epoch_resumes_and_completes(tmp_path):
  env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), *sys.path]))
  log = (tmp_path / "first.log").open("w")
  first = subprocess.Popen(tiny_job(tmp_path, "--step_seconds=0.2"), env=env, stdout=log,
                           stderr=subprocess.STDOUT)
  try:
    # Kill it in the second epoch, right after a mid-epoch backup (step 25 of 60).
    wait_for(lambda: len(csv_rows(tmp_path)) == 1, 240, "the first epoch to finish")
    marker = tmp_path / "backup" / "chief" / "checkpoint"
    seen = marker.stat().st_mtime_ns
    wait_for(lambda: marker.stat().st_mtime_ns != seen, 60, "a mid-epoch backup")
    first.send_signal(signal.SIGKILL)
    assert first.wait(30) == -signal.SIGKILL
  finally:
    first.kill()
  assert not (tmp_path / "result-0.json").exists()  # it really died before finishing

  second = subprocess.run(tiny_job(tmp_path), env=env, capture_output=True, text=True,
                          timeout=300)
  assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
  result = json.loads((tmp_path / "result-0.json").read_text())
  resumed_at = TOTAL - result["steps_run"]
  # It restarted from a mid-epoch backup after the first epoch, not from scratch or an epoch end.
  assert STEPS < resumed_at < TOTAL and resumed_at % BACKUP_EVERY == 0
  assert resumed_at % STEPS != 0
  # The log holds each epoch once (the first from the killed run), and the model learned.
  rows = csv_rows(tmp_path)
  assert [int(r["epoch"]) for r in rows] == list(range(EPOCHS))
  assert result["final_loss"] < 0.2 * float(rows[0]["loss"])
  # A completed run deletes its backup, so the next run starts fresh.
  assert not list((tmp_path / "backup").rglob("*.index"))
