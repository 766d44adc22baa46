"""Tests for TPU resolution on a machine without a TPU: resolvers, and fast, clear failures."""

import os
import pathlib
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from google.cloud import tpu_v2

import common
from common.distribute import config as config_lib
from common.distribute import tpu

REPO_ROOT = pathlib.Path(common.__file__).resolve().parent.parent


def tpu_config(**overrides):
  cfg = config_lib.get_config().tpu
  for key, value in overrides.items():
    setattr(cfg, key, value)
  return cfg


class FakeTpuClient:
  """Answers `get_node` like google-cloud-tpu's TpuClient, from a canned Node."""

  def __init__(self, node=None, error=None):
    self.node, self.error, self.requests = node, error, []

  def get_node(self, *, name, timeout):
    self.requests.append((name, timeout))
    if self.error:
      raise self.error
    return self.node


def pod_node(*ips, state=tpu_v2.Node.State.READY):
  return tpu_v2.Node(state=state, network_endpoints=[
      tpu_v2.NetworkEndpoint(ip_address=ip, port=8470) for ip in ips])


def closed_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_local_resolver_constructs_without_a_tpu():
  resolver = tpu.cluster_resolver(tpu_config(name="local"))
  assert isinstance(resolver, tf.distribute.cluster_resolver.TPUClusterResolver)
  assert resolver.cluster_spec().as_dict() == {}


def test_named_pod_slice_resolves_every_worker():
  client = FakeTpuClient(pod_node("10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"))
  cfg = tpu_config(name="my-v4-32", zone="us-central2-b", project="proj", timeout_s=7)
  resolver = tpu.cluster_resolver(cfg, client=client)
  assert client.requests == [("projects/proj/locations/us-central2-b/nodes/my-v4-32", 7)]
  assert resolver.cluster_spec().as_dict() == {
      "worker": ["10.0.0.2:8470", "10.0.0.3:8470", "10.0.0.4:8470", "10.0.0.5:8470"]}
  assert resolver.master() == "grpc://10.0.0.2:8470"


def test_explicit_grpc_addresses():
  assert tpu.worker_addresses("grpc://10.1.1.1:8470,grpc://10.1.1.2") == [
      "10.1.1.1:8470", "10.1.1.2:8470"]
  with pytest.raises(ValueError, match="malformed address"):
    tpu.worker_addresses("grpc://:8470")


def test_named_tpu_needs_zone_and_project():
  with pytest.raises(ValueError, match=r"needs distribution.tpu.zone and distribution.tpu.project"):
    tpu.cluster_resolver(tpu_config(name="my-tpu"), client=FakeTpuClient())


def test_named_tpu_not_ready_is_explained():
  client = FakeTpuClient(pod_node("10.0.0.2", state=tpu_v2.Node.State.CREATING))
  with pytest.raises(tpu.TPUUnavailableError, match="is CREATING, not READY"):
    tpu.cluster_resolver(tpu_config(name="t", zone="z", project="p"), client=client)


def test_api_failure_is_explained():
  client = FakeTpuClient(error=PermissionError("403 caller lacks tpu.nodes.get"))
  with pytest.raises(tpu.TPUUnavailableError, match=r"(?s)Could not look up TPU .*403.*gcloud"):
    tpu.cluster_resolver(tpu_config(name="t", zone="z", project="p"), client=client)


def test_local_without_tpu_devices_fails_fast(monkeypatch):
  monkeypatch.setattr(tpu, "local_tpu_devices", lambda: [])
  start = time.monotonic()
  with pytest.raises(tpu.TPUUnavailableError, match=r"has no TPU chips.*kind=default"):
    tpu.initialize(tpu_config(name="local"))
  assert time.monotonic() - start < 5


def test_local_with_devices_but_no_tpu_runtime_is_explained(monkeypatch):
  # As on a TPU VM with the CPU-only TensorFlow wheel: the devices exist, TF has no TPU kernels.
  monkeypatch.setattr(tpu, "local_tpu_devices", lambda: ["/dev/accel0"])
  with pytest.raises(tpu.TPUUnavailableError, match=r"could not initialise the TPU.*tensorflow-tpu"):
    tpu.initialize(tpu_config(name="local", timeout_s=30))


def test_topology_line_names_hosts_devices_mesh_and_cores():
  class Topology:  # what initialize_tpu_system returns on a v4-32: 4 hosts of 4 chips
    mesh_shape = np.array([2, 2, 4, 1])
    num_tasks = 4
    num_tpus_per_task = 4

  assert tpu.describe_topology(Topology(), num_cores=16) == (
      "TPU topology: 4 host(s) x 4 TPU device(s), mesh 2x2x4x1 (x, y, z, cores per chip); "
      "16 TPU cores in sync")


def test_unreachable_workers_fail_fast():
  port = closed_port()
  client = FakeTpuClient(tpu_v2.Node(state=tpu_v2.Node.State.READY, network_endpoints=[
      tpu_v2.NetworkEndpoint(ip_address="127.0.0.1", port=port)]))
  start = time.monotonic()
  with pytest.raises(tpu.TPUUnavailableError, match=f"TPU worker 127.0.0.1:{port} is not reachable"):
    tpu.initialize(tpu_config(name="t", zone="z", project="p", timeout_s=2), client=client)
  assert time.monotonic() - start < 5


SILENT_WORKER = """
import socket, threading
from common.distribute import config, tpu
server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(8)
threading.Thread(target=lambda: [server.accept() for _ in range(100)], daemon=True).start()
cfg = config.get_config().tpu
cfg.name, cfg.timeout_s = "grpc://127.0.0.1:%d" % server.getsockname()[1], 2
try:
  tpu.initialize(cfg)
except tpu.TPUUnavailableError as e:
  print("ERROR:", e)
"""


def test_worker_that_never_answers_times_out_instead_of_hanging():
  # A port that accepts connections but never speaks gRPC: TensorFlow alone would wait forever.
  # In a subprocess, so that the abandoned TensorFlow thread dies with it.
  env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), *sys.path]))
  result = subprocess.run([sys.executable, "-c", SILENT_WORKER], env=env, capture_output=True,
                          text=True, timeout=120)
  assert result.returncode == 0, result.stderr[-2000:]
  assert "ERROR: Connecting to and initialising the TPU system" in result.stdout
  assert "did not finish within 2 s" in result.stdout
