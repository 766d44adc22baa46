"""The job spec: one YAML file that says which slice to get and what to run on it.

Job specs are data, not code (DESIGN.md): a team checks `infra/tpu/jobs/<job>.yaml` in beside
the config it trains. `load` reads one into a typed, frozen `JobSpec` and checks everything it
can *before* a single request goes to Cloud TPU, because a mistake found after a pod slice is
provisioned costs money and queue time. All problems are reported at once, each naming the
field and the fix.

    name: resnet50-v4-32            # the node (and queued resource) id
    project: my-project
    zone: us-central2-b
    accelerator_type: v4-32         # see accelerators.py
    runtime_version: tpu-ubuntu2204-base     # bare: the hosts install the TPU lock
    capacity: spot                  # spot | reserved | on-demand
    network: {network: default, subnetwork: default, enable_external_ips: false}
    service_account: trainer@my-project.iam.gserviceaccount.com
    labels: {team: vision}
    code:
      repo: https://github.com/my-org/trellis.git
      revision: 0123abcd...           # a commit: a re-created slice must run the same code
      target: //vision:train
      launch: worker0               # worker0 | every_host, see below
      args: [--config=vision/configs/resnet50_tpu_pod.py, --workdir={checkpoint_dir}/workdir,
             --config.distribution.tpu.name={name}, --config.distribution.tpu.zone={zone},
             --config.distribution.tpu.project={project}]
      export:                       # optional: runs on worker 0 once the target succeeded
        target: //vision:export
        args: [--workdir={checkpoint_dir}/workdir, --export_root={export_root}]
    checkpoint_dir: gs://my-bucket/trellis/resnet50-v4-32
    export_root: gs://my-models/vision  # optional: where exported models go
    budget: {max_hours: 12, max_restarts: 5}

`{checkpoint_dir}`, `{export_root}`, `{name}`, `{zone}` and `{project}` in `code.args` and
`code.export.args` are replaced by those fields: the trainer's work directory (and with it
`BackupAndRestore`'s state) is then where a re-created slice will look, and the trainer can
name its own slice.

`export_root` is where the job's models are published (gs:// for a pod slice, like
`checkpoint_dir`). //vision:train has no export flag; the export is a second program,
`code.export` (e.g. //vision:export, which takes `--workdir` and `--export_root`), that the
startup script runs on worker 0 after the target succeeded; startup_script.py says how it
reaches the two paths.

The runtime image and the software the job runs on must agree. A host runs no Bazel: the
startup script installs the TPU lock (`make setup-tpu`: tensorflow-tpu + libtpu from
requirements-tpu.txt, in `.venv-tpu`) and runs the target's Python entry point
(`ENTRY_POINTS`: //vision:train is `python -m vision.main`) with it. So `runtime_version` is
either the bare image of the accelerator's generation (`BARE_IMAGES`: tpu-ubuntu2204-base for
v2-v4, v2-alpha-tpuv5-lite for v5e, ...) or a `tpu-vm-tf-<version>` image whose TensorFlow is
the lock's; a `tpu-vm-tf-2.16.1-pod-pjrt` image with a lock of tensorflow-tpu 2.20.0 would put a
second TensorFlow and TPU runtime on the host, and is rejected.

`code.launch` says which hosts run the target. TensorFlow on a pod slice (the `-pod` runtime
images) runs the program once, on worker 0, which drives every host's TPUs through the TPU
runtime's servers: that is `worker0` (the default), with the trainer told the slice's name
(`--config.distribution.tpu.name={name}`; common/distribute/tpu.py resolves its hosts).
`every_host` runs the target on every host with `TPU_WORKER_ID` set, for programs that are
themselves multi-host (one process per host, `TPUClusterResolver(tpu="local")`). On a single
host the two are the same.
"""

import dataclasses
import pathlib
import re
from typing import Any

import yaml

from infra.tpu import accelerators

CAPACITIES = ("spot", "reserved", "on-demand")
LAUNCHES = ("worker0", "every_host")
# Placeholders `code.args` may use; each is replaced by the spec field of that name.
ARG_PLACEHOLDERS = ("checkpoint_dir", "export_root", "name", "zone", "project")

_TOP_LEVEL = ("name", "project", "zone", "accelerator_type", "runtime_version", "capacity",
              "network", "service_account", "labels", "code", "checkpoint_dir", "export_root",
              "budget")
_NODE_ID = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_PROJECT = re.compile(r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")
_ZONE = re.compile(r"^[a-z]+-[a-z]+[0-9]+-[a-z]$")
_SHA = re.compile(r"^[0-9a-f]{7,40}$")
_BAZEL_LABEL = re.compile(r"^//[A-Za-z0-9_/.+-]*:[A-Za-z0-9_.+-]+$")
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TF_IMAGE = re.compile(r"^tpu-vm-tf-(\d+\.\d+\.\d+)(-.*)?$")

# Cloud TPU images without TensorFlow, by the accelerator families they run on.
BARE_IMAGES = {
    "tpu-ubuntu2204-base": ("v2", "v3", "v4"),
    "v2-alpha-tpuv5-lite": ("v5litepod",),
    "v2-alpha-tpuv5": ("v5p",),
    "v2-alpha-tpuv6e": ("v6e",),
}
# The Python entry point of each Bazel target a TPU host may run (the py_binary's main module;
# spec_test checks each against its BUILD file). Hosts have .venv-tpu, not Bazel.
ENTRY_POINTS = {
    "//vision:train": "vision.main",
    "//vision:export": "vision.export",
    "//sequences/text:train": "sequences.text.main",
    "//sequences/text:export": "sequences.text.export",
    "//sequences/timeseries:train": "sequences.timeseries.main",
    "//sequences/timeseries:export": "sequences.timeseries.export",
    "//recsys:train": "recsys.main",
    "//recsys:export": "recsys.export",
}
# The TPU lock, made by `make lock-tpu`; the hosts install it with `make setup-tpu`.
TPU_LOCK = pathlib.Path(__file__).resolve().parents[2] / "requirements-tpu.txt"


class SpecError(ValueError):
  """A job spec that cannot be run; the message lists every problem and its fix."""


def locked_tensorflow(lock: pathlib.Path = TPU_LOCK) -> str:
  """The tensorflow-tpu version requirements-tpu.txt pins (what `make setup-tpu` installs)."""
  if not lock.is_file():
    raise SpecError(f"{lock} is missing; run `make lock-tpu` (the TPU hosts install it)")
  for line in lock.read_text().splitlines():
    name, _, version = line.partition("==")
    if name.strip().lower().replace("_", "-") == "tensorflow-tpu":  # pip freeze writes either
      return version.strip()
  raise SpecError(f"{lock} pins no tensorflow-tpu; run `make lock-tpu`")


def check_runtime_image(runtime_version: str, family: str, tensorflow: str) -> str | None:
  """Why `runtime_version` cannot run the TPU lock on `family` hosts, or None if it can.

  Args:
    runtime_version: the TPU VM image, e.g. tpu-ubuntu2204-base or tpu-vm-tf-2.20.0-pod-pjrt.
    family: the accelerator family, e.g. v4 or v5litepod.
    tensorflow: the tensorflow-tpu version of the lock (`locked_tensorflow()`).
  """
  bare = [image for image, families in BARE_IMAGES.items() if family in families]
  fix = (f"use {' or '.join(repr(b) for b in bare)} (no TensorFlow of its own: the startup "
         f"script installs the lock, `make setup-tpu`)" if bare else "use a bare image")
  if match := _TF_IMAGE.match(runtime_version):
    if match[1] != tensorflow:
      return (f"{runtime_version!r} carries TensorFlow {match[1]}, but the job runs the TPU lock "
              f"(requirements-tpu.txt: tensorflow-tpu {tensorflow}, installed by `make "
              f"setup-tpu`), so the host would hold two TensorFlow builds and TPU runtimes; "
              f"{fix}, or an image whose TensorFlow is {tensorflow}")
    return None
  if runtime_version in BARE_IMAGES:
    if family not in BARE_IMAGES[runtime_version]:
      return (f"{runtime_version!r} is the base image for "
              f"{', '.join(BARE_IMAGES[runtime_version])} TPUs, not {family}; {fix}")
    return None
  return (f"{runtime_version!r} is neither a bare TPU image nor a tpu-vm-tf-{tensorflow} image, so "
          f"it is not known to run the TPU lock (Python 3.11, tensorflow-tpu {tensorflow}); {fix}")


@dataclasses.dataclass(frozen=True)
class Network:
  network: str = "default"
  subnetwork: str = "default"
  enable_external_ips: bool = False


@dataclasses.dataclass(frozen=True)
class Export:
  """`bazel run <target> -- <args>` on worker 0 once the job's target succeeded."""
  target: str
  args: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Code:
  """What runs: `bazel run <target> -- <args>` at `revision` of `repo`, on `launch` hosts."""
  repo: str
  revision: str
  target: str
  args: tuple[str, ...] = ()
  launch: str = "worker0"
  export: Export | None = None


@dataclasses.dataclass(frozen=True)
class Budget:
  max_hours: float
  max_restarts: int = 10  # preemptions survived before giving up


@dataclasses.dataclass(frozen=True)
class JobSpec:
  """A validated job spec; build it with `load` or `parse`."""
  name: str
  project: str
  zone: str
  accelerator: accelerators.AcceleratorType
  runtime_version: str
  capacity: str
  network: Network
  service_account: str | None
  labels: dict[str, str]
  code: Code
  checkpoint_dir: str
  budget: Budget
  export_root: str | None = None

  @property
  def parent(self) -> str:
    return f"projects/{self.project}/locations/{self.zone}"

  @property
  def node_name(self) -> str:
    return f"{self.parent}/nodes/{self.name}"

  @property
  def queued_resource_name(self) -> str:
    return f"{self.parent}/queuedResources/{self.name}"

  @property
  def reporting_hosts(self) -> int:
    """Hosts that run the target and write a status marker."""
    return 1 if self.code.launch == "worker0" else self.accelerator.num_hosts

  @property
  def uses_queued_resource(self) -> bool:
    """Pod slices and spot capacity go through the queue, which is how Cloud TPU hands them out."""
    return self.accelerator.is_pod_slice or self.capacity == "spot"


class _Problems:
  """Collects problems so that one run of `tpuctl` reports all of them."""

  def __init__(self, source: str):
    self.source = source
    self.items: list[str] = []

  def add(self, field: str, message: str) -> None:
    self.items.append(f"  {field}: {message}")

  def raise_if_any(self) -> None:
    if self.items:
      raise SpecError(f"job spec {self.source} is not valid:\n" + "\n".join(self.items))


def _string(raw: dict, key: str, problems: _Problems, prefix: str = "",
            required: bool = True, default: str | None = None) -> str | None:
  value = raw.get(key)
  if value is None or value == "":
    if required:
      problems.add(prefix + key, "is missing; add it to the job spec")
    return default
  if not isinstance(value, str | int | float) or isinstance(value, bool):
    problems.add(prefix + key, f"must be a string, got {type(value).__name__}")
    return default
  return str(value)


def _mapping(raw: Any, field: str, problems: _Problems) -> dict:
  if raw is None:
    return {}
  if not isinstance(raw, dict):
    problems.add(field, f"must be a mapping (key: value lines), got {type(raw).__name__}")
    return {}
  return raw


def _unknown(raw: dict, known: tuple[str, ...], prefix: str, problems: _Problems) -> None:
  for key in raw:
    if key not in known:
      problems.add(prefix + str(key), f"unknown field; known fields are: {', '.join(known)}")


def _args(raw: Any, field: str, problems: _Problems) -> tuple[str, ...]:
  args = raw or []
  if not isinstance(args, list) or not all(isinstance(a, str | int | float) for a in args):
    problems.add(field, "must be a list of strings, e.g. [--config=vision/configs/x.py]")
    return ()
  return tuple(str(a) for a in args)


def _storage_url(raw: dict, key: str, accelerator, problems: _Problems,
                 required: bool) -> str | None:
  """`checkpoint_dir` or `export_root`: gs:// on a pod slice, else gs:// or file://."""
  url = _string(raw, key, problems, required=required)
  if not url:
    return None
  url = url.rstrip("/")
  if accelerator is not None and accelerator.is_pod_slice and not url.startswith("gs://"):
    problems.add(key, f"{url!r} is not a gs:// path, but {accelerator.name} is a pod slice of "
                 f"{accelerator.num_hosts} hosts: they share checkpoints, exports, logs and "
                 "status only through Cloud Storage; use gs://BUCKET/PATH")
  elif not url.startswith(("gs://", "file://")):
    problems.add(key, f"{url!r} must be gs://BUCKET/PATH (or file:///PATH on a single host, "
                 "which a preemption loses)")
  return url


def _no_entry_point(target: str) -> str:
  return (f"{target!r} has no entry point for TPU hosts, which run Python from .venv-tpu, not "
          f"Bazel; use one of {', '.join(ENTRY_POINTS)} (or add it to spec.ENTRY_POINTS)")


def parse(raw: Any, source: str = "<spec>") -> JobSpec:
  """Validates a decoded YAML document and returns the typed spec.

  Args:
    raw: the mapping `yaml.safe_load` returned.
    source: where it came from, for error messages.

  Raises:
    SpecError: listing every invalid or missing field with its fix.
  """
  problems = _Problems(source)
  if not isinstance(raw, dict):
    problems.add("<top level>", "the job spec must be a YAML mapping; see infra/tpu/jobs/")
    problems.raise_if_any()
  _unknown(raw, _TOP_LEVEL, "", problems)

  name = _string(raw, "name", problems)
  if name and not _NODE_ID.match(name):
    problems.add("name", f"{name!r} is not a valid TPU node id: use 1-63 lowercase letters, "
                 "digits and hyphens, starting with a letter (e.g. resnet50-v4-32)")
  project = _string(raw, "project", problems)
  if project and not _PROJECT.match(project):
    problems.add("project", f"{project!r} is not a project id (6-30 lowercase letters, digits, "
                 "hyphens); use the id, not the display name or number")
  zone = _string(raw, "zone", problems)
  if zone and not _ZONE.match(zone):
    problems.add("zone", f"{zone!r} is not a zone such as us-central2-b; "
                 "`gcloud compute tpus locations list` lists TPU zones")
  accelerator = None
  if (accel_text := _string(raw, "accelerator_type", problems)) is not None:
    try:
      accelerator = accelerators.parse(accel_text)
    except accelerators.AcceleratorTypeError as e:
      problems.add("accelerator_type", str(e))
  runtime_version = _string(raw, "runtime_version", problems)
  capacity = _string(raw, "capacity", problems, required=False, default="on-demand")
  if capacity not in CAPACITIES:
    problems.add("capacity", f"{capacity!r} is not one of {', '.join(CAPACITIES)}")

  net_raw = _mapping(raw.get("network"), "network", problems)
  _unknown(net_raw, ("network", "subnetwork", "enable_external_ips"), "network.", problems)
  external = net_raw.get("enable_external_ips", False)
  if not isinstance(external, bool):
    problems.add("network.enable_external_ips", f"must be true or false, got {external!r}")
  network = Network(
      network=_string(net_raw, "network", problems, "network.", False, "default"),
      subnetwork=_string(net_raw, "subnetwork", problems, "network.", False, "default"),
      enable_external_ips=bool(external))

  service_account = _string(raw, "service_account", problems, required=False)
  if service_account and not _EMAIL.match(service_account):
    problems.add("service_account", f"{service_account!r} is not a service account email "
                 "(NAME@PROJECT.iam.gserviceaccount.com); leave it out for the default one")

  labels = {}
  for key, value in _mapping(raw.get("labels"), "labels", problems).items():
    key, value = str(key), str(value)
    if not _LABEL_KEY.match(key) or not _LABEL_VALUE.match(value):
      problems.add(f"labels.{key}", f"{key}={value!r}: Cloud labels are lowercase letters, "
                   "digits, _ and -, keys start with a letter, both at most 63 characters")
    labels[key] = value

  code_raw = _mapping(raw.get("code"), "code", problems)
  if "code" not in raw:
    problems.add("code", "is missing; add code: {repo, revision, target, args}")
  _unknown(code_raw, ("repo", "revision", "target", "args", "launch", "export"), "code.",
           problems)
  repo = _string(code_raw, "repo", problems, "code.")
  revision = _string(code_raw, "revision", problems, "code.")
  if revision and not _SHA.match(revision):
    problems.add("code.revision", f"{revision!r} is not a commit id; pin one (`git rev-parse "
                 "HEAD`) so a slice re-created after preemption runs the same code")
  target = _string(code_raw, "target", problems, "code.")
  if target and not _BAZEL_LABEL.match(target):
    problems.add("code.target", f"{target!r} is not a Bazel target such as //vision:train")
  elif target and target not in ENTRY_POINTS:
    problems.add("code.target", _no_entry_point(target))
  launch = _string(code_raw, "launch", problems, "code.", required=False, default="worker0")
  if launch not in LAUNCHES:
    problems.add("code.launch", f"{launch!r} is not one of {', '.join(LAUNCHES)}: worker0 for "
                 "TensorFlow programs (one process drives the slice), every_host for programs "
                 "that start one process per host")
  if (accelerator is not None and accelerator.is_pod_slice and launch == "worker0"
      and runtime_version and runtime_version.startswith("tpu-vm-tf-")
      and "-pod" not in runtime_version):
    problems.add("runtime_version", f"{runtime_version!r} is a single-host TensorFlow image, but "
                 f"{accelerator.name} has {accelerator.num_hosts} hosts and worker 0 drives "
                 "them all: use the pod image of that version (e.g. tpu-vm-tf-2.20.0-pod-pjrt), or the bare image")
  if accelerator is not None and runtime_version:
    try:
      reason = check_runtime_image(runtime_version, accelerator.family.name, locked_tensorflow())
    except SpecError as e:
      reason = str(e)
    if reason:
      problems.add("runtime_version", reason)
  args = _args(code_raw.get("args"), "code.args", problems)

  export = None
  export_raw = code_raw.get("export")
  if export_raw is not None:
    export_raw = _mapping(export_raw, "code.export", problems)
    _unknown(export_raw, ("target", "args"), "code.export.", problems)
    export_target = _string(export_raw, "target", problems, "code.export.")
    if export_target and not _BAZEL_LABEL.match(export_target):
      problems.add("code.export.target", f"{export_target!r} is not a Bazel target such as "
                   "//vision:export")
    elif export_target and export_target not in ENTRY_POINTS:
      problems.add("code.export.target", _no_entry_point(export_target))
    export = Export(export_target, _args(export_raw.get("args"), "code.export.args", problems))

  checkpoint_dir = _storage_url(raw, "checkpoint_dir", accelerator, problems, required=True)
  export_root = _storage_url(raw, "export_root", accelerator, problems, required=False)
  uses_export_root = any("{export_root}" in a for a in (*args, *(export.args if export else ())))
  if export_root is None and (export is not None or uses_export_root):
    problems.add("export_root", "is missing, but " + (
        "code.export publishes models there" if export is not None else
        "{export_root} is used in code.args") + "; add export_root: gs://BUCKET/PATH")
  if export_root is not None and export is None and not uses_export_root:
    problems.add("export_root", "is set but nothing uses it: add code.export (e.g. {target: "
                 "//vision:export, args: [--workdir={checkpoint_dir}/workdir, "
                 "--export_root={export_root}]}) or pass {export_root} in code.args")
  if checkpoint_dir and export_root:
    inner, outer = sorted((checkpoint_dir, export_root), key=len, reverse=True)
    if inner == outer or inner.startswith(outer + "/"):
      problems.add("export_root", f"{export_root!r} and checkpoint_dir {checkpoint_dir!r} "
                   "overlap; the export step copies checkpoint_dir, so give exports their own "
                   "path (e.g. gs://BUCKET/models)")

  budget_raw = _mapping(raw.get("budget"), "budget", problems)
  _unknown(budget_raw, ("max_hours", "max_restarts"), "budget.", problems)
  max_hours = budget_raw.get("max_hours")
  if max_hours is None:
    problems.add("budget.max_hours", "is missing; say how long the slice may run, e.g. "
                 "budget: {max_hours: 12}; the slice is deleted when it runs out")
  elif isinstance(max_hours, bool) or not isinstance(max_hours, int | float) or max_hours <= 0:
    problems.add("budget.max_hours", f"must be a positive number of hours, got {max_hours!r}")
  max_restarts = budget_raw.get("max_restarts", 10)
  if isinstance(max_restarts, bool) or not isinstance(max_restarts, int) or max_restarts < 0:
    problems.add("budget.max_restarts", f"must be a whole number >= 0, got {max_restarts!r}")

  problems.raise_if_any()
  fields = {"checkpoint_dir": checkpoint_dir, "export_root": export_root, "name": name,
            "zone": zone, "project": project}

  def substitute(args: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for arg in args:
      for key in ARG_PLACEHOLDERS:
        if fields[key] is not None:
          arg = arg.replace("{" + key + "}", fields[key])
      out.append(arg)
    return tuple(out)

  if export is not None:
    export = Export(export.target, substitute(export.args))
  return JobSpec(
      name=name, project=project, zone=zone, accelerator=accelerator,
      runtime_version=runtime_version, capacity=capacity, network=network,
      service_account=service_account, labels=labels,
      code=Code(repo=repo, revision=revision, target=target, args=substitute(args),
                launch=launch, export=export),
      checkpoint_dir=checkpoint_dir,
      budget=Budget(max_hours=float(max_hours), max_restarts=max_restarts),
      export_root=export_root)


def load(path: str | pathlib.Path) -> JobSpec:
  """Reads and validates a job spec file.

  Raises:
    SpecError: the file is missing, is not YAML, or has invalid fields.
  """
  path = pathlib.Path(path)
  if not path.is_file():
    raise SpecError(f"job spec {path} does not exist; see infra/tpu/jobs/ for examples")
  try:
    raw = yaml.safe_load(path.read_text())
  except yaml.YAMLError as e:
    raise SpecError(f"job spec {path} is not valid YAML: {e}") from e
  return parse(raw, source=str(path))
