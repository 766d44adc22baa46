"""The Cloud TPU calls tpuctl makes, on google-cloud-tpu's `tpu_v2.TpuClient`.

`TpuApi` turns a `JobSpec` into requests and waits on their results:

- a single-host slice on on-demand or reserved capacity is a `CreateNode`;
- a pod slice or spot capacity is a `CreateQueuedResource`, which is how Cloud TPU hands those
  out: the request waits in the zone's queue (at most the job's budget, via
  `queueing_policy.valid_until_duration`) and becomes ACTIVE with a READY node.

With `dry_run=True` nothing is sent: each request is printed as `<RPC> <JSON body>` and the
API is assumed to answer "not found" to reads, so the output is exactly the requests a first
`tpuctl run` would make on the happy path.

`make_client` is the only place that picks an endpoint: `--endpoint host:port` (a local fake or
emulator, plaintext, no credentials), or Google's endpoint when none is given and we are not
inside a test.
"""

import os
import sys
from typing import TextIO

import grpc
from google.api_core import exceptions as core_exceptions
from google.auth import credentials as ga_credentials
from google.cloud import tpu_v2
from google.cloud.tpu_v2.services.tpu.transports import TpuGrpcTransport
from google.protobuf import duration_pb2

from infra.tpu import errors, operations
from infra.tpu import spec as spec_lib

# Node states after which the slice will not run the job again by itself.
LOST_NODE_STATES = (tpu_v2.Node.State.PREEMPTED, tpu_v2.Node.State.TERMINATED)
# Queued-resource states meaning the capacity was taken back or never granted.
LOST_QUEUED_STATES = (tpu_v2.QueuedResourceState.State.SUSPENDING,
                      tpu_v2.QueuedResourceState.State.SUSPENDED,
                      tpu_v2.QueuedResourceState.State.FAILED)
_CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


def make_client(endpoint: str | None = None) -> tpu_v2.TpuClient:
  """A TpuClient for `endpoint` ("host:port"), or for tpu.googleapis.com when None.

  Raises:
    RuntimeError: no endpoint was given inside a test (pytest or `bazel test`): tests must
      never reach Google.
  """
  if endpoint:
    # With an explicit channel the transport ignores credentials and never calls
    # google.auth.default(); anonymous ones say so.
    transport = TpuGrpcTransport(channel=grpc.insecure_channel(endpoint),
                                 credentials=ga_credentials.AnonymousCredentials())
    return tpu_v2.TpuClient(transport=transport)
  if "PYTEST_CURRENT_TEST" in os.environ or "TEST_TARGET" in os.environ:
    raise RuntimeError("refusing to contact tpu.googleapis.com from a test; pass "
                       "endpoint='host:port' of a fake server")
  return tpu_v2.TpuClient()


def _json(request) -> str:
  return type(request).to_json(request, indent=2, sort_keys=True,
                               always_print_fields_with_no_presence=False)


class TpuApi:
  """Node and queued-resource calls for one job spec, waited on with backoff.

  Args:
    client: a `tpu_v2.TpuClient` (ignored and may be None when `dry_run`).
    dry_run: print requests to `out` instead of sending them.
    out: where dry-run requests go.
    clock: time source for waits.
    backoff: delays between polls.
    operation_timeout: seconds to wait for a create/delete operation.
  """

  def __init__(self, client: tpu_v2.TpuClient | None, *, dry_run: bool = False,
               out: TextIO | None = None, clock: operations.Clock | None = None,
               backoff: operations.Backoff = operations.Backoff(),
               operation_timeout: float = 30 * 60):
    self.client = client
    self.dry_run = dry_run
    self.out = out or sys.stdout
    self.clock = clock or operations.Clock()
    self.backoff = backoff
    self.operation_timeout = operation_timeout

  # --- requests -----------------------------------------------------------------------------

  def node_message(self, spec: spec_lib.JobSpec, *, startup_script: str, run_id: str,
                   attempt: int = 1, started_at: int | None = None) -> tpu_v2.Node:
    """The Node resource for `spec`: accelerator, runtime, network, labels and startup script.

    Its metadata records the run (`trellis-run-id`, `trellis-attempt`) and when the job
    started (`trellis-started-at`, seconds since the epoch), so that a `tpuctl` that
    re-attaches later knows how much of the budget is left.
    """
    node = tpu_v2.Node(
        description=f"trellis job {spec.name}: {spec.code.target} at {spec.code.revision[:12]}",
        accelerator_type=spec.accelerator.name,
        runtime_version=spec.runtime_version,
        network_config=tpu_v2.NetworkConfig(
            network=spec.network.network, subnetwork=spec.network.subnetwork,
            enable_external_ips=spec.network.enable_external_ips),
        labels={**spec.labels, "trellis-job": spec.name, "managed-by": "tpuctl"},
        metadata={"startup-script": startup_script, "trellis-run-id": run_id,
                  "trellis-attempt": str(attempt)},
    )
    if started_at is not None:
      node.metadata["trellis-started-at"] = str(int(started_at))
    if spec.service_account:
      node.service_account = tpu_v2.ServiceAccount(email=spec.service_account,
                                                   scope=[_CLOUD_PLATFORM_SCOPE])
    if spec.capacity == "reserved":
      node.scheduling_config = tpu_v2.SchedulingConfig(reserved=True)
    # Spot capacity is asked for on the queued resource (its `spot` tier), see create_request.
    return node

  def create_request(self, spec: spec_lib.JobSpec, node: tpu_v2.Node,
                     queue_seconds: float | None = None):
    """A CreateQueuedResourceRequest for pods and spot, else a CreateNodeRequest.

    A queued request is valid for `queue_seconds` (default: the whole budget).
    """
    if not spec.uses_queued_resource:
      return tpu_v2.CreateNodeRequest(parent=spec.parent, node_id=spec.name, node=node)
    queued = tpu_v2.QueuedResource(
        tpu=tpu_v2.QueuedResource.Tpu(node_spec=[tpu_v2.QueuedResource.Tpu.NodeSpec(
            parent=spec.parent, node_id=spec.name, node=node)]),
        # A request still queued when the budget is spent is of no use.
        queueing_policy=tpu_v2.QueuedResource.QueueingPolicy(
            valid_until_duration=duration_pb2.Duration(seconds=max(1, int(
                spec.budget.max_hours * 3600 if queue_seconds is None else queue_seconds)))))
    if spec.capacity == "spot":
      queued.spot = tpu_v2.QueuedResource.Spot()
    return tpu_v2.CreateQueuedResourceRequest(
        parent=spec.parent, queued_resource_id=spec.name, queued_resource=queued)

  # --- calls --------------------------------------------------------------------------------

  def _call(self, rpc: str, request, spec: spec_lib.JobSpec | None, what: str):
    """Sends one request (or prints it); API errors become `errors.TpuError`s."""
    if self.dry_run:
      print(f"{rpc} {_json(request)}", file=self.out)
      return None
    method = getattr(self.client, _snake(rpc))
    try:
      return method(request=request)
    except core_exceptions.GoogleAPICallError as e:
      raise errors.explain(e, what, spec) from e

  def _wait(self, operation, spec, what: str, timeout: float | None = None):
    if self.dry_run:
      print(f"# then google.longrunning.Operations/GetOperation on the returned operation, "
            f"polled with backoff until done ({what})", file=self.out)
      return None
    return operations.wait_operation(
        operation, what=what, timeout=timeout or self.operation_timeout,
        backoff=self.backoff, clock=self.clock, spec=spec)

  def get_node(self, spec: spec_lib.JobSpec) -> tpu_v2.Node | None:
    """The job's node, or None if it does not exist."""
    try:
      return self._call("GetNode", tpu_v2.GetNodeRequest(name=spec.node_name), spec,
                        f"get node {spec.node_name}")
    except errors.NotFoundError:
      return None

  def get_queued_resource(self, spec: spec_lib.JobSpec) -> tpu_v2.QueuedResource | None:
    """The job's queued resource, or None if it does not exist."""
    try:
      return self._call("GetQueuedResource",
                        tpu_v2.GetQueuedResourceRequest(name=spec.queued_resource_name), spec,
                        f"get queued resource {spec.queued_resource_name}")
    except errors.NotFoundError:
      return None

  def list_nodes(self, spec: spec_lib.JobSpec) -> list[tpu_v2.Node]:
    """All nodes in the spec's project and zone (every page)."""
    pager = self._call("ListNodes", tpu_v2.ListNodesRequest(parent=spec.parent), spec,
                       f"list nodes in {spec.parent}")
    return list(pager) if pager is not None else []

  def create(self, spec: spec_lib.JobSpec, node: tpu_v2.Node,
             queue_seconds: float | None = None) -> None:
    """Sends the create request and waits until its operation is done."""
    request = self.create_request(spec, node, queue_seconds)
    rpc = type(request).__name__.removesuffix("Request")
    what = f"create {spec.accelerator.name} slice {spec.name} in {spec.zone}"
    self._wait(self._call(rpc, request, spec, what), spec, what)

  def delete(self, spec: spec_lib.JobSpec, missing_ok: bool = True) -> None:
    """Deletes the job's queued resource (with its nodes) or node.

    Raises:
      errors.NotFoundError: there is nothing to delete and not `missing_ok`.
    """
    if spec.uses_queued_resource:
      request = tpu_v2.DeleteQueuedResourceRequest(name=spec.queued_resource_name, force=True)
      rpc, what = "DeleteQueuedResource", f"delete queued resource {spec.queued_resource_name}"
    else:
      request = tpu_v2.DeleteNodeRequest(name=spec.node_name)
      rpc, what = "DeleteNode", f"delete node {spec.node_name}"
    try:
      self._wait(self._call(rpc, request, spec, what), spec, what)
    except errors.NotFoundError:
      if not missing_ok:
        raise

  def wait_ready(self, spec: spec_lib.JobSpec, timeout: float) -> tpu_v2.Node | None:
    """Waits for the queued resource (if any) to be ACTIVE and the node to be READY.

    Raises:
      errors.PreemptedError: the slice was preempted or the queued request failed meanwhile.
      errors.OperationTimeoutError: not READY within `timeout` seconds.
    """
    if self.dry_run:
      print(f"# then {'GetQueuedResource (until ACTIVE) and ' if spec.uses_queued_resource else ''}"
            f"GetNode (until READY), polled with backoff", file=self.out)
      return None

    def check():
      if spec.uses_queued_resource:
        queued = self.get_queued_resource(spec)
        if queued is None:
          raise errors.PreemptedError(f"queued resource {spec.queued_resource_name} vanished")
        state = queued.state.state
        if state == tpu_v2.QueuedResourceState.State.FAILED:
          raise errors.from_operation_error(
              queued.state.failed_data.error, f"provision {spec.name}", spec)
        if state in LOST_QUEUED_STATES:
          raise errors.PreemptedError(f"queued resource {spec.name} is {state.name}")
        if state != tpu_v2.QueuedResourceState.State.ACTIVE:
          return None
      node = self.get_node(spec)
      if node is None:
        return None
      if node.state in LOST_NODE_STATES:
        raise errors.PreemptedError(f"node {spec.name} is {node.state.name}")
      return node if node.state == tpu_v2.Node.State.READY else None

    return operations.poll_until(check, what=f"{spec.name} to become READY", timeout=timeout,
                                 backoff=self.backoff, clock=self.clock)

  def slice_lost(self, spec: spec_lib.JobSpec) -> str | None:
    """Why the slice can no longer run the job (preempted, terminated, gone), or None."""
    if spec.uses_queued_resource:
      queued = self.get_queued_resource(spec)
      if queued is None:
        return "its queued resource was deleted"
      if queued.state.state in LOST_QUEUED_STATES:
        return f"its queued resource is {queued.state.state.name}"
    node = self.get_node(spec)
    if node is None:
      return "its node was deleted"
    if node.state in LOST_NODE_STATES:
      return f"its node is {node.state.name}"
    return None


def _snake(rpc: str) -> str:
  return "".join("_" + c.lower() if c.isupper() else c for c in rpc).lstrip("_")
