"""A training run killed with SIGKILL mid-epoch resumes from its backup and completes.

The same kill-and-restart runs under the default strategy, `mirrored` over 2 logical CPUs and
Horovod (2 processes through the launcher); multi-worker has its own test, where one of the
workers is killed (`common/distribute/worker_failure_test.py`).
"""

import contextlib
import csv
import importlib.util
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

import common

REPO_ROOT = pathlib.Path(common.__file__).resolve().parent.parent
EPOCHS, STEPS, BACKUP_EVERY = 3, 20, 5
TOTAL = EPOCHS * STEPS
# A run is given time as long as it makes progress (a file in its workdir, its log included,
# changes): a shared 2-core machine can slow a run several-fold, but a hung one stops writing.
# STALL_SECONDS covers the longest quiet stretch (starting Python, TensorFlow and horovodrun's
# workers before the first write); CEILING_SECONDS bounds one wait however busy the run looks.
STALL_SECONDS, CEILING_SECONDS = 240, 600


HAVE_HOROVOD = importlib.util.find_spec("horovod") is not None
# engine -> (tiny_job flags, launcher flags or None for a single process, a backup's marker file)
ENGINES = {
    "default": ([], None, "backup/chief/checkpoint"),
    "mirrored": (["--kind=mirrored", "--num_cpu_devices=2"], None, "backup/chief/checkpoint"),
    "horovod": (["--kind=horovod"], ["--backend", "horovod"], "backup/rank-0/chief/checkpoint"),
}


def tiny_job(workdir, engine, *extra):
  job_flags, launcher, _ = ENGINES[engine]
  job = [sys.executable, "-m", "common.distribute.tiny_job", f"--workdir={workdir}",
         f"--epochs={EPOCHS}", f"--steps_per_epoch={STEPS}",
         f"--backup_every_steps={BACKUP_EVERY}", *job_flags, *extra]
  if launcher is not None:
    job = [sys.executable, "-m", "common.distribute.launch", "--workers", "2", *launcher, "--", *job]
  return job


def wait_for(predicate, timeout, what):
  deadline = time.monotonic() + timeout
  while not predicate():
    if time.monotonic() > deadline:
      raise AssertionError(f"timed out waiting for {what}")
    time.sleep(0.05)


def _progress(workdir: pathlib.Path) -> tuple[int, int]:
  """(newest mtime, total size) of the files in a run's workdir: changes while the run works."""
  newest = total = 0
  # os.walk skips a folder that vanishes while it lists (rglob raises): backups rotate as we look.
  for folder, _, files in os.walk(workdir):
    for name in files:
      with contextlib.suppress(FileNotFoundError):
        stat = os.stat(os.path.join(folder, name))
        newest, total = max(newest, stat.st_mtime_ns), total + stat.st_size
  return newest, total


def wait_while_progressing(predicate, workdir, what):
  """Waits for `predicate` as long as the run in `workdir` keeps writing (see STALL_SECONDS)."""
  start = changed = time.monotonic()
  seen = _progress(workdir)
  while not predicate():
    now, now_seen = time.monotonic(), _progress(workdir)
    if now_seen != seen:
      seen, changed = now_seen, now
    if now - changed > STALL_SECONDS or now - start > CEILING_SECONDS:
      raise AssertionError(
          f"timed out waiting for {what}: the run wrote nothing for {now - changed:.0f} s "
          f"(limit {STALL_SECONDS} s), {now - start:.0f} s in all (limit {CEILING_SECONDS} s)")
    time.sleep(0.2)


def csv_rows(workdir):
  path = workdir / "train_log.csv"
  return list(csv.DictReader(path.open())) if path.exists() else []


def _kill_job(proc, workdir):
  """SIGKILL to every process of the job at once, as when its machine is preempted.

  The job's own session holds the launcher and single-process jobs; horovodrun starts each
  worker in a session of its own, so the workers' pids (tiny_job writes `pid-<rank>`) are
  killed by pid as well, and waited for, so that no orphan finishes the run behind our back.
  """
  pids = [int(p.read_text()) for p in pathlib.Path(workdir).glob("pid-*")]
  for kill in [lambda: os.killpg(proc.pid, signal.SIGKILL),
               *[lambda pid=pid: os.kill(pid, signal.SIGKILL) for pid in pids]]:
    with contextlib.suppress(ProcessLookupError):
      kill()
  wait_for(lambda: not any(_alive(pid) for pid in pids), 30, "the killed workers to exit")


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  # A killed child of horovodrun stays a zombie until horovodrun (killed too) is reaped.
  stat = pathlib.Path(f"/proc/{pid}/stat")
  return stat.exists() and stat.read_text().split(") ")[-1].split()[0] != "Z"


@pytest.mark.parametrize("engine", [
    "default", "mirrored",
    pytest.param("horovod", marks=pytest.mark.skipif(
        not HAVE_HOROVOD, reason="Horovod is not built; run `make horovod`"))])
def test_sigkill_mid_epoch_resumes_and_completes(tmp_path, engine):
  env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), *sys.path]))
  log = (tmp_path / "first.log").open("w")
  # Its own session, so SIGKILL reaches every process of the job (the launcher and its workers)
  # at once, as when a machine is preempted.
  first = subprocess.Popen(tiny_job(tmp_path, engine, "--step_seconds=0.2"), env=env, stdout=log,
                           stderr=subprocess.STDOUT, cwd=REPO_ROOT, start_new_session=True)
  try:
    # Kill it in the second epoch, right after a mid-epoch backup (step 25 of 60).
    wait_while_progressing(lambda: len(csv_rows(tmp_path)) == 1, tmp_path,
                           "the first epoch to finish")
    marker = tmp_path / ENGINES[engine][2]
    seen = marker.stat().st_mtime_ns
    wait_while_progressing(lambda: marker.stat().st_mtime_ns != seen, tmp_path,
                           "a mid-epoch backup")
    _kill_job(first, tmp_path)
    assert first.wait(30) == -signal.SIGKILL
  finally:
    _kill_job(first, tmp_path)
  assert not (tmp_path / "result-0.json").exists()  # it really died before finishing

  second_log = tmp_path / "second.log"
  with second_log.open("w") as log:
    second = subprocess.Popen(tiny_job(tmp_path, engine), env=env, stdout=log,
                              stderr=subprocess.STDOUT, cwd=REPO_ROOT, start_new_session=True)
    try:
      wait_while_progressing(lambda: second.poll() is not None, tmp_path,
                             "the resumed run to finish")
    finally:
      _kill_job(second, tmp_path)  # a no-op once it has exited
  assert second.returncode == 0, second_log.read_text()[-6000:]
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
