"""Where a job's hosts leave their status markers and logs, and how tpuctl reads them back.

Each host's startup script writes, under the job's `checkpoint_dir`:

    tpuctl/status/worker-<i>.json   {"state": "RUNNING"|"SUCCEEDED"|"FAILED"|"BUDGET_EXCEEDED",
                                     "worker": i,
                                     "run_id": ..., "attempt": n, "exit_code": ..., "time": ...}
    tpuctl/logs/worker-<i>.log      the job's stdout and stderr

A `Store` reads and writes those objects. Two implementations:
- `LocalDirStore`: a directory (`file://` checkpoint dirs, tests, or a local mirror of a bucket);
- `GcloudStorageStore`: `gcloud storage` (or `gsutil`) for real `gs://` paths. The
  google-cloud-storage Python package is deliberately not a dependency: the Cloud SDK CLI is on
  every TPU VM image and on most workstations that can create TPUs at all.
"""

import abc
import dataclasses
import json
import os
import pathlib
import shutil
import subprocess
import urllib.parse

BUDGET_EXCEEDED = "BUDGET_EXCEEDED"  # the host stopped the job at the budget's end
STATES = ("RUNNING", "SUCCEEDED", "FAILED", BUDGET_EXCEEDED)


class StoreError(RuntimeError):
  """The store cannot be read or written; the message says how to fix it."""


class Store(abc.ABC):
  """Reads and writes small text objects addressed by `gs://` or `file://` URLs."""

  @abc.abstractmethod
  def read(self, url: str) -> str | None:
    """The object's text, or None if it does not exist."""

  @abc.abstractmethod
  def write(self, url: str, text: str) -> None:
    """Creates or replaces the object."""

  @abc.abstractmethod
  def list(self, prefix: str) -> list[str]:
    """URLs of the objects directly under `prefix` (a "directory" URL), sorted."""


class LocalDirStore(Store):
  """A directory standing in for Cloud Storage.

  `file:///a/b` is the path `/a/b`; `gs://bucket/a` is `<root>/bucket/a`, so a test (or
  `tpuctl --store-root DIR`) can mirror a bucket in a directory.
  """

  def __init__(self, root: str | pathlib.Path | None = None):
    self.root = pathlib.Path(root) if root is not None else None

  def _path(self, url: str) -> pathlib.Path:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
      return pathlib.Path(urllib.parse.unquote(parsed.path))
    if parsed.scheme == "gs":
      if self.root is None:
        raise StoreError(f"{url} is a Cloud Storage path but this store is a local directory "
                         "without a root; pass --store-root DIR or drop it to use gcloud")
      return self.root / parsed.netloc / parsed.path.lstrip("/")
    raise StoreError(f"{url!r} is neither gs:// nor file://")

  def read(self, url):
    path = self._path(url)
    return path.read_text() if path.is_file() else None

  def write(self, url, text):
    path = self._path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)  # a reader never sees half a marker

  def list(self, prefix):
    path = self._path(prefix)
    if not path.is_dir():
      return []
    base = prefix.rstrip("/")
    return sorted(f"{base}/{p.name}" for p in path.iterdir() if p.is_file()
                  and not p.name.endswith(".tmp"))


class GcloudStorageStore(Store):
  """Cloud Storage through the `gcloud storage` CLI, or `gsutil` when only that is installed.

  Nothing is looked up or run until the first read, write or list, so building one (e.g. for
  `tpuctl create`, which reads no marker) needs no Cloud SDK. With the default `runner` it
  refuses to run inside a test (pytest or `bazel test`), as `client.make_client` refuses
  Google's TPU endpoint: tests pass a `runner` stand-in or use `LocalDirStore`.
  """

  def __init__(self, runner=None, which=shutil.which):
    self._runner = runner
    self._which = which
    self._commands = None  # (cat, ls, cp) argv prefixes, found on first use

  def _tools(self) -> tuple[list[str], list[str], list[str]]:
    if self._commands is None:
      if self._runner is None and _inside_a_test():
        raise RuntimeError("refusing to reach Cloud Storage (gcloud storage / gsutil) from a "
                           "test; use LocalDirStore (tpuctl --store-root DIR) or pass a runner")
      if self._which("gcloud"):
        self._commands = (["gcloud", "storage", "cat"], ["gcloud", "storage", "ls"],
                          ["gcloud", "storage", "cp", "-"])
      elif self._which("gsutil"):
        self._commands = (["gsutil", "cat"], ["gsutil", "ls"], ["gsutil", "cp", "-"])
      else:
        raise StoreError(
            "reading gs:// status markers needs the Google Cloud CLI (`gcloud storage`) or "
            "`gsutil`, and neither is on PATH; install the Cloud SDK "
            "(https://cloud.google.com/sdk/docs/install) and run `gcloud auth login`, or pass "
            "--store-root DIR to read a local copy of the bucket")
    return self._commands

  def _call(self, argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
    run = self._runner or subprocess.run
    return run(argv, input=stdin, capture_output=True, text=True, check=False)

  @staticmethod
  def _missing(stderr: str) -> bool:
    text = stderr.lower()
    return "matched no objects" in text or "no urls matched" in text or "not found" in text

  def read(self, url):
    result = self._call([*self._tools()[0], url])
    if result.returncode == 0:
      return result.stdout
    if self._missing(result.stderr):
      return None
    raise StoreError(f"cannot read {url}: {result.stderr.strip()}; check `gcloud auth list` "
                     "and that your account can read the bucket (roles/storage.objectViewer)")

  def write(self, url, text):
    result = self._call([*self._tools()[2], url], stdin=text)
    if result.returncode != 0:
      raise StoreError(f"cannot write {url}: {result.stderr.strip()}; your account needs "
                       "roles/storage.objectAdmin on the bucket")

  def list(self, prefix):
    result = self._call([*self._tools()[1], prefix.rstrip("/") + "/"])
    if result.returncode != 0:
      if self._missing(result.stderr):
        return []
      raise StoreError(f"cannot list {prefix}: {result.stderr.strip()}")
    return sorted(line.strip() for line in result.stdout.splitlines()
                  if line.strip() and not line.strip().endswith("/"))


def _inside_a_test() -> bool:
  return "PYTEST_CURRENT_TEST" in os.environ or "TEST_TARGET" in os.environ


def store_for(url: str, local_root: str | None = None) -> Store:
  """The store that can read `url`: a local directory for file:// or a given root, else gcloud.

  The gcloud store is built without touching the CLI; it is found (and, inside a test,
  refused) on first use.
  """
  if url.startswith("file://") or local_root is not None:
    return LocalDirStore(local_root)
  return GcloudStorageStore()


def status_dir(checkpoint_dir: str) -> str:
  return f"{checkpoint_dir}/tpuctl/status"


def logs_dir(checkpoint_dir: str) -> str:
  return f"{checkpoint_dir}/tpuctl/logs"


@dataclasses.dataclass(frozen=True)
class JobStatus:
  """What the hosts of one run report. `state` is PENDING until a host writes a marker."""
  state: str
  workers: dict[int, dict]

  def summary(self, num_workers: int) -> str:
    counts = {s: sum(m["state"] == s for m in self.workers.values()) for s in STATES}
    text = (f"{self.state}: {counts['SUCCEEDED']}/{num_workers} hosts succeeded, "
            f"{counts['RUNNING']} running, {counts['FAILED']} failed")
    if counts[BUDGET_EXCEEDED]:
      text += f", {counts[BUDGET_EXCEEDED]} stopped at the budget's end"
    return text


def read_job_status(store: Store, checkpoint_dir: str, num_workers: int,
                    run_id: str | None = None) -> JobStatus:
  """Combines the hosts' markers into one job state.

  A job FAILED if any host failed, BUDGET_EXCEEDED if a host stopped it at the budget's end,
  SUCCEEDED when every host succeeded, RUNNING while any host runs, else PENDING. Markers from another run (a different `run_id`) are ignored, so an old
  FAILED marker does not end a new run.
  """
  workers = {}
  for url in store.list(status_dir(checkpoint_dir)):
    if not url.rsplit("/", 1)[-1].startswith("worker-"):
      continue
    text = store.read(url)
    try:
      marker = json.loads(text) if text else None
    except json.JSONDecodeError:
      marker = None  # a marker being rewritten; the next poll reads it whole
    if not marker or marker.get("state") not in STATES:
      continue
    if run_id is not None and marker.get("run_id") != run_id:
      continue
    workers[int(marker.get("worker", -1))] = marker
  states = [m["state"] for m in workers.values()]
  if "FAILED" in states:
    state = "FAILED"
  elif BUDGET_EXCEEDED in states:
    state = BUDGET_EXCEEDED
  elif len(states) >= num_workers and all(s == "SUCCEEDED" for s in states):
    state = "SUCCEEDED"
  elif states:
    state = "RUNNING"
  else:
    state = "PENDING"
  return JobStatus(state, workers)
