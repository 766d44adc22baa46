"""Finding and initialising Cloud TPUs, failing fast with a clear error when there is none.

Three ways to name a TPU (`distribution.tpu.name`):

* `local`: the TPU chips attached to this TPU VM (single host).
* a TPU or pod-slice name (`my-v4-32`): looked up through the Cloud TPU API with google-cloud-tpu
  (`projects/<project>/locations/<zone>/nodes/<name>`); every worker of a pod slice becomes a task
  of the cluster spec.
* explicit worker addresses: `grpc://10.0.0.2:8470[,grpc://10.0.0.3:8470...]`.

TensorFlow blocks without a deadline when a TPU worker accepts connections but never answers, and
its own name lookup waits on the GCE metadata server. Every network step here therefore has a
timeout and a message that says what was tried and what to do instead.
"""

import glob
import socket
import threading
import urllib.parse

import tensorflow as tf

from common.distribute import tf_build

_DEFAULT_PORT = 8470
_NO_TPU_HINT = ("On a machine without a TPU use distribution.kind=default, mirrored or "
                "multi_worker instead of tpu.")


class TPUUnavailableError(RuntimeError):
  """No TPU could be reached with the given settings."""


def local_tpu_devices() -> list[str]:
  """Device files of TPU chips attached to this VM (/dev/accel* before v5, /dev/vfio/* since)."""
  return sorted(glob.glob("/dev/accel*") + [p for p in glob.glob("/dev/vfio/*") if p != "/dev/vfio/vfio"])


def worker_addresses(name: str, zone: str = "", project: str = "", *, timeout_s: float = 60.0,
                     client=None) -> list[str]:
  """Returns `host:port` of every TPU worker that `name` stands for.

  Args:
    name: a `grpc://host:port` list (comma-separated) or a Cloud TPU node name.
    zone: the node's zone (required for a node name).
    project: the node's GCP project (required for a node name).
    timeout_s: deadline for the Cloud TPU API call.
    client: a `google.cloud.tpu_v2.TpuClient` (or anything with its `get_node`); made if None.

  Raises:
    TPUUnavailableError: the node cannot be looked up, does not exist or is not READY.
    ValueError: a node name without zone/project.
  """
  if name.startswith("grpc://"):
    addresses = []
    for part in name.split(","):
      parsed = urllib.parse.urlparse(part.strip())
      if not parsed.hostname:
        raise ValueError(f"distribution.tpu.name has a malformed address {part!r}; "
                         "write grpc://host:port[,grpc://host:port...]")
      addresses.append(f"{parsed.hostname}:{parsed.port or _DEFAULT_PORT}")
    return addresses
  if not zone or not project:
    raise ValueError(
        f"distribution.tpu.name={name!r} is a Cloud TPU node name, which needs "
        "distribution.tpu.zone and distribution.tpu.project (e.g. "
        "--config.distribution.tpu.zone=us-central2-b --config.distribution.tpu.project=my-proj); "
        "on the TPU VM itself use distribution.tpu.name=local.")
  from google.cloud import tpu_v2  # Only named TPUs need the Cloud API client.

  node_path = f"projects/{project}/locations/{zone}/nodes/{name}"
  try:
    client = client or tpu_v2.TpuClient()
    node = client.get_node(name=node_path, timeout=timeout_s)
  except Exception as e:  # google.api_core / google.auth raise many types; all mean the same here.
    raise TPUUnavailableError(
        f"Could not look up TPU {node_path} through the Cloud TPU API: {type(e).__name__}: {e}. "
        "Check the name, zone and project (`gcloud compute tpus tpu-vm list --zone=...`) and "
        f"that credentials are set up (`gcloud auth application-default login`). {_NO_TPU_HINT}"
    ) from e
  state = tpu_v2.Node.State(node.state).name if node.state else "STATE_UNSPECIFIED"
  if state != "READY":
    raise TPUUnavailableError(f"TPU {node_path} is {state}, not READY; wait for it or recreate it "
                              "(bazel run //infra/tpu:...).")
  if not node.network_endpoints:
    raise TPUUnavailableError(f"TPU {node_path} reports no network endpoints.")
  return [f"{ep.ip_address}:{ep.port or _DEFAULT_PORT}" for ep in node.network_endpoints]


def check_reachable(addresses: list[str], timeout_s: float) -> None:
  """Raises TPUUnavailableError unless every `host:port` accepts a TCP connection in time."""
  for address in addresses:
    host, port = address.rsplit(":", 1)
    try:
      with socket.create_connection((host, int(port)), timeout=timeout_s):
        pass
    except OSError as e:
      raise TPUUnavailableError(
          f"TPU worker {address} is not reachable ({e}). Is the TPU running and is this machine "
          f"in its network? {_NO_TPU_HINT}") from e


def cluster_resolver(cfg, *, client=None) -> tf.distribute.cluster_resolver.TPUClusterResolver:
  """Builds the `TPUClusterResolver` for `cfg` (the `distribution.tpu` block).

  Named TPUs are resolved to worker addresses here (with a deadline) rather than by TensorFlow's
  resolver, which needs the retired `cloud-tpu-client` and can wait forever on GCE metadata.
  """
  if cfg.name == "local":
    return tf.distribute.cluster_resolver.TPUClusterResolver(tpu="local")
  addresses = worker_addresses(cfg.name, cfg.zone, cfg.project, timeout_s=cfg.timeout_s,
                               client=client)
  return tf.distribute.cluster_resolver.TPUClusterResolver(
      tpu=",".join(f"grpc://{a}" for a in addresses))


def _run_with_deadline(fn, timeout_s: float, what: str):
  # A daemon thread (not an executor, whose workers are joined at exit): if TensorFlow blocks
  # forever, the caller still gets the error and the process can exit.
  outcome = {}

  def target():
    try:
      outcome["value"] = fn()
    except BaseException as e:  # re-raised in the caller's thread
      outcome["error"] = e

  thread = threading.Thread(target=target, name="tpu-init", daemon=True)
  thread.start()
  thread.join(timeout_s)
  if thread.is_alive():
    raise TPUUnavailableError(f"{what} did not finish within {timeout_s:.0f} s "
                              "(distribution.tpu.timeout_s). " + _NO_TPU_HINT)
  if "error" in outcome:
    raise outcome["error"]
  return outcome["value"]


def initialize(cfg, *, client=None) -> tf.distribute.TPUStrategy:
  """Resolves the TPU, connects to it, initialises the TPU system and returns a `TPUStrategy`.

  Raises:
    TPUUnavailableError: no TPU at `cfg.name`, with what was tried and what to do.
  """
  resolver = cluster_resolver(cfg, client=client)
  if cfg.name == "local":
    if not local_tpu_devices():
      raise TPUUnavailableError(
          "distribution.tpu.name=local but this machine has no TPU chips (no /dev/accel* or "
          "/dev/vfio/* devices). Run on a TPU VM, or name a remote TPU with "
          f"distribution.tpu.name/zone/project. {_NO_TPU_HINT}")
  else:
    addresses = [task for tasks in resolver.cluster_spec().as_dict().values() for task in tasks]
    check_reachable(addresses, cfg.timeout_s)

  def init():
    if cfg.name != "local":
      tf.config.experimental_connect_to_cluster(resolver)
    topology = tf.tpu.experimental.initialize_tpu_system(resolver)
    strategy = tf.distribute.TPUStrategy(resolver)
    print(f"distribution: {describe_topology(topology, strategy.num_replicas_in_sync)}", flush=True)
    return strategy

  try:
    return _run_with_deadline(init, cfg.timeout_s,
                              f"Connecting to and initialising the TPU system at {cfg.name!r}")
  except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError, tf.errors.UnavailableError,
          ValueError) as e:
    first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    raise TPUUnavailableError(
        f"TensorFlow could not initialise the TPU at {cfg.name!r}: {first_line}. This process "
        f"runs {tf_build.describe()}; on a TPU VM run the trainer with the TPU build of "
        f"TensorFlow (tensorflow-tpu + libtpu: `make setup-tpu`, then .venv-tpu/bin/python). {_NO_TPU_HINT}") from e


def describe_topology(topology, num_cores: int) -> str:
  """One line for the log: hosts, cores and the TPU mesh `initialize_tpu_system` returned.

  Args:
    topology: a `tf.tpu.experimental.Topology` (anything with `mesh_shape`, `num_tasks` and
      `num_tpus_per_task`).
    num_cores: the TPU cores the strategy replicates over (`num_replicas_in_sync`).
  """
  mesh = "x".join(str(int(d)) for d in topology.mesh_shape)
  return (f"TPU topology: {topology.num_tasks} host(s) x {topology.num_tpus_per_task} TPU "
          f"device(s), mesh {mesh} (x, y, z, cores per chip); {num_cores} TPU cores in sync")
