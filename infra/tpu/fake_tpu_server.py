"""A fake Cloud TPU API (google.cloud.tpu.v2.Tpu + google.longrunning.Operations) on localhost.

Tests drive the real `tpu_v2.TpuClient` against it, so request building, the gRPC wire format,
long-running operations and error codes are exercised as in production. google-cloud-tpu ships
proto-plus messages but no service descriptors, so the service is assembled from gRPC generic
handlers and the messages' own `serialize`/`deserialize`.

Behaviour, kept close to the real service where tests depend on it:
- Create/Delete return an Operation that is done after `operation_polls` GetOperation calls.
- A created node is CREATING for `creating_polls` GetNode calls, then READY; a queued resource
  is WAITING_FOR_RESOURCES for `queued_polls` GetQueuedResource calls, then ACTIVE with its
  node created (CREATING, then READY).
- `quota` limits the total size per family (v4: TensorCores) per zone; exceeding it answers
  RESOURCE_EXHAUSTED with the quota's name, as Cloud TPU does.
- `no_capacity_zones`: create operations there fail with the service's stockout message.
- `preempt(node_id)`: the node becomes PREEMPTED and its queued resource SUSPENDED;
  `fail_queued(node_id, code, message)`: the queued request ends FAILED with that error.
- Every request is recorded in `requests` as (rpc, message).
"""

import itertools
import threading
from collections.abc import Callable
from concurrent import futures

import grpc
from google.cloud import tpu_v2
from google.longrunning import operations_pb2
from google.protobuf import any_pb2, empty_pb2
from google.rpc import code_pb2, status_pb2

from infra.tpu import accelerators
from infra.tpu import client as client_lib

_NodeState = tpu_v2.Node.State
_QueuedState = tpu_v2.QueuedResourceState.State


class FakeTpuServer:
  """An in-memory Cloud TPU API; use as a context manager, then `client()`."""

  def __init__(self, *, operation_polls: int = 1, creating_polls: int = 1,
               queued_polls: int = 1, quota: dict[str, int] | None = None,
               no_capacity_zones: tuple[str, ...] = (),
               on_node_ready: Callable[[tpu_v2.Node], None] | None = None):
    self.operation_polls = operation_polls
    self.creating_polls = creating_polls
    self.queued_polls = queued_polls
    self.quota = quota or {}
    self.no_capacity_zones = no_capacity_zones
    self.on_node_ready = on_node_ready
    self.nodes: dict[str, tpu_v2.Node] = {}
    self.queued: dict[str, tpu_v2.QueuedResource] = {}
    self.requests: list[tuple[str, object]] = []
    self._operations: dict[str, list] = {}  # name -> [polls left, Operation]
    self._polls: dict[str, int] = {}        # resource name -> polls left before its next state
    self._ids = itertools.count(1)
    self._lock = threading.Lock()
    self._server = None
    self.address = None

  # --- lifecycle ----------------------------------------------------------------------------

  def __enter__(self):
    self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    tpu_methods = {
        "GetNode": (tpu_v2.GetNodeRequest, tpu_v2.Node, self._get_node),
        "ListNodes": (tpu_v2.ListNodesRequest, tpu_v2.ListNodesResponse, self._list_nodes),
        "CreateNode": (tpu_v2.CreateNodeRequest, None, self._create_node),
        "DeleteNode": (tpu_v2.DeleteNodeRequest, None, self._delete_node),
        "GetQueuedResource": (tpu_v2.GetQueuedResourceRequest, tpu_v2.QueuedResource,
                              self._get_queued),
        "CreateQueuedResource": (tpu_v2.CreateQueuedResourceRequest, None, self._create_queued),
        "DeleteQueuedResource": (tpu_v2.DeleteQueuedResourceRequest, None, self._delete_queued),
    }
    handlers = {}
    for rpc, (request_type, response_type, fn) in tpu_methods.items():
      serialize = (response_type.serialize if response_type is not None
                   else operations_pb2.Operation.SerializeToString)  # None: returns an LRO
      handlers[rpc] = grpc.unary_unary_rpc_method_handler(
          self._recorded(rpc, fn), request_deserializer=request_type.deserialize,
          response_serializer=serialize)
    operations = {"GetOperation": grpc.unary_unary_rpc_method_handler(
        self._recorded("GetOperation", self._get_operation),
        request_deserializer=operations_pb2.GetOperationRequest.FromString,
        response_serializer=operations_pb2.Operation.SerializeToString)}
    self._server.add_generic_rpc_handlers((
        grpc.method_handlers_generic_handler("google.cloud.tpu.v2.Tpu", handlers),
        grpc.method_handlers_generic_handler("google.longrunning.Operations", operations)))
    port = self._server.add_insecure_port("127.0.0.1:0")
    self._server.start()
    self.address = f"127.0.0.1:{port}"
    return self

  def __exit__(self, *exc):
    self._server.stop(grace=None)

  def client(self) -> tpu_v2.TpuClient:
    return client_lib.make_client(self.address)

  def rpcs(self) -> list[str]:
    """The RPC names received so far, in order."""
    return [rpc for rpc, _ in self.requests]

  # --- test controls ------------------------------------------------------------------------

  def preempt(self, node_id: str) -> None:
    """What a spot reclaim does: the node is PREEMPTED, its queued resource SUSPENDED."""
    with self._lock:
      for name, node in self.nodes.items():
        if name.endswith("/nodes/" + node_id):
          node.state = _NodeState.PREEMPTED
          if node.queued_resource in self.queued:
            state = self.queued[node.queued_resource].state
            state.state = _QueuedState.SUSPENDED
            state.state_initiator = tpu_v2.QueuedResourceState.StateInitiator.SERVICE

  def fail_queued(self, node_id: str, code: int, message: str) -> None:
    """The queued request for `node_id` ends FAILED with `code` (a google.rpc.Code)."""
    with self._lock:
      for name, queued in self.queued.items():
        if name.endswith("/queuedResources/" + node_id):
          queued.state = tpu_v2.QueuedResourceState(
              state=_QueuedState.FAILED,
              failed_data=tpu_v2.QueuedResourceState.FailedData(
                  error=status_pb2.Status(code=code, message=message)))

  # --- handlers -----------------------------------------------------------------------------

  def _recorded(self, rpc, fn):
    def handler(request, context):
      with self._lock:
        self.requests.append((rpc, request))
        return fn(request, context)
    return handler

  def _operation(self, target: str, verb: str, response=None,
                 error: status_pb2.Status | None = None) -> operations_pb2.Operation:
    name = f"{target.split('/nodes/')[0].split('/queuedResources/')[0]}/operations/op-{next(self._ids)}"
    done = operations_pb2.Operation(name=name, done=True)
    metadata = tpu_v2.OperationMetadata(target=target, verb=verb)
    done.metadata.Pack(tpu_v2.OperationMetadata.pb(metadata))
    if error is not None:
      done.error.CopyFrom(error)
    else:
      packed = any_pb2.Any()
      packed.Pack(response if response is not None else empty_pb2.Empty())
      done.response.CopyFrom(packed)
    self._operations[name] = [self.operation_polls, done]
    pending = operations_pb2.Operation(name=name, done=False)
    pending.metadata.CopyFrom(done.metadata)
    return pending if self.operation_polls > 0 else done

  def _get_operation(self, request, context):
    if request.name not in self._operations:
      context.abort(grpc.StatusCode.NOT_FOUND, f"operation {request.name} not found")
    entry = self._operations[request.name]
    entry[0] -= 1
    if entry[0] > 0:
      return operations_pb2.Operation(name=request.name, done=False, metadata=entry[1].metadata)
    return entry[1]

  def _advance_node(self, node: tpu_v2.Node) -> None:
    if node.state != _NodeState.CREATING:
      return
    self._polls[node.name] = self._polls.get(node.name, self.creating_polls) - 1
    if self._polls[node.name] < 0:
      node.state = _NodeState.READY
      node.network_endpoints = [
          tpu_v2.NetworkEndpoint(ip_address=f"10.0.0.{i + 2}", port=8470)
          for i in range(accelerators.parse(node.accelerator_type).num_hosts)]
      if self.on_node_ready is not None:
        self.on_node_ready(tpu_v2.Node(node))

  def _get_node(self, request, context):
    node = self.nodes.get(request.name)
    if node is None:
      context.abort(grpc.StatusCode.NOT_FOUND, f"Resource '{request.name}' was not found")
    self._advance_node(node)
    return node

  def _list_nodes(self, request, context):
    return tpu_v2.ListNodesResponse(
        nodes=[n for name, n in self.nodes.items() if name.startswith(request.parent + "/")])

  def _check_quota(self, parent: str, accelerator_type: str, context) -> None:
    wanted = accelerators.parse(accelerator_type)
    limit = self.quota.get(wanted.family.name)
    if limit is None:
      return
    used = sum(accelerators.parse(n.accelerator_type).size for name, n in self.nodes.items()
               if name.startswith(parent + "/") and
               accelerators.parse(n.accelerator_type).family == wanted.family)
    if used + wanted.size > limit:
      zone = parent.rsplit("/", 1)[-1]
      context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"Quota 'TPU{wanted.family.name.upper()}PodPerProjectPerZoneForTPUAPI' "
                    f"exhausted. Limit {limit} in zone {zone}, requested {wanted.size}, "
                    f"in use {used}.")

  def _stockout(self, parent: str) -> status_pb2.Status | None:
    zone = parent.rsplit("/", 1)[-1]
    if zone in self.no_capacity_zones:
      return status_pb2.Status(
          code=code_pb2.RESOURCE_EXHAUSTED,
          message=f"There is no more capacity in the zone \"{zone}\"; you can try in another "
                  "zone where Cloud TPU Nodes are offered")
    return None

  def _new_node(self, parent: str, node_id: str, node: tpu_v2.Node, context,
                queued_resource: str = "") -> tpu_v2.Node:
    name = f"{parent}/nodes/{node_id}"
    if name in self.nodes:
      context.abort(grpc.StatusCode.ALREADY_EXISTS, f"Resource '{name}' already exists")
    node = tpu_v2.Node(node)
    node.name, node.state, node.queued_resource = name, _NodeState.CREATING, queued_resource
    node.id = next(self._ids)
    node.api_version = tpu_v2.Node.ApiVersion.V2
    self.nodes[name] = node
    return node

  def _create_node(self, request, context):
    if error := self._stockout(request.parent):
      return self._operation(f"{request.parent}/nodes/{request.node_id}", "create", error=error)
    self._check_quota(request.parent, request.node.accelerator_type, context)
    node = self._new_node(request.parent, request.node_id, request.node, context)
    return self._operation(node.name, "create", response=tpu_v2.Node.pb(node))

  def _delete_node(self, request, context):
    if self.nodes.pop(request.name, None) is None:
      context.abort(grpc.StatusCode.NOT_FOUND, f"Resource '{request.name}' was not found")
    self._polls.pop(request.name, None)
    return self._operation(request.name, "delete")

  def _get_queued(self, request, context):
    queued = self.queued.get(request.name)
    if queued is None:
      context.abort(grpc.StatusCode.NOT_FOUND, f"Resource '{request.name}' was not found")
    if queued.state.state == _QueuedState.WAITING_FOR_RESOURCES:
      self._polls[queued.name] = self._polls.get(queued.name, self.queued_polls) - 1
      if self._polls[queued.name] < 0:
        spec = queued.tpu.node_spec[0]
        self._check_quota(spec.parent, spec.node.accelerator_type, context)
        self._new_node(spec.parent, spec.node_id, spec.node, context, queued.name)
        queued.state = tpu_v2.QueuedResourceState(
            state=_QueuedState.ACTIVE, active_data=tpu_v2.QueuedResourceState.ActiveData())
    return queued

  def _create_queued(self, request, context):
    name = f"{request.parent}/queuedResources/{request.queued_resource_id}"
    if name in self.queued:
      context.abort(grpc.StatusCode.ALREADY_EXISTS, f"Resource '{name}' already exists")
    if error := self._stockout(request.parent):
      return self._operation(name, "create", error=error)
    spec = request.queued_resource.tpu.node_spec[0]
    self._check_quota(spec.parent, spec.node.accelerator_type, context)
    queued = tpu_v2.QueuedResource(request.queued_resource)
    queued.name = name
    queued.state = tpu_v2.QueuedResourceState(state=_QueuedState.WAITING_FOR_RESOURCES)
    self.queued[name] = queued
    return self._operation(name, "create", response=tpu_v2.QueuedResource.pb(queued))

  def _delete_queued(self, request, context):
    queued = self.queued.get(request.name)
    if queued is None:
      context.abort(grpc.StatusCode.NOT_FOUND, f"Resource '{request.name}' was not found")
    owned = [n for n, node in self.nodes.items() if node.queued_resource == request.name]
    if owned and not request.force:
      context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                    f"Queued resource {request.name} still has nodes; delete them or force")
    for name in owned:
      del self.nodes[name]
      self._polls.pop(name, None)
    del self.queued[request.name]
    self._polls.pop(request.name, None)
    return self._operation(request.name, "delete")
