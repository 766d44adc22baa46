"""Tests for TpuApi: the real TpuClient against the fake Cloud TPU API on localhost."""

import io
import json
import pathlib

import pytest
import yaml
from google.cloud import tpu_v2

from infra.tpu import client as client_lib
from infra.tpu import errors, fake_tpu_server, operations
from infra.tpu import spec as spec_lib

EXAMPLE = pathlib.Path(__file__).parent / "jobs" / "resnet50_v4_32.yaml"


class FakeClock(operations.Clock):
  def __init__(self):
    self.now = 0.0

  def time(self):
    return self.now

  def sleep(self, seconds):
    self.now += seconds


def make_spec(**changes) -> spec_lib.JobSpec:
  raw = yaml.safe_load(EXAMPLE.read_text())
  raw.update(changes)
  return spec_lib.parse(raw)


def make_api(fake) -> client_lib.TpuApi:
  return client_lib.TpuApi(fake.client(), clock=FakeClock(),
                           backoff=operations.Backoff(1, 4, 2), operation_timeout=600)


def node_for(api, spec, script="echo hi"):
  return api.node_message(spec, startup_script=script, run_id="run1", attempt=1)


def test_single_host_on_demand_is_a_create_node_with_the_startup_script():
  spec = make_spec(accelerator_type="v4-8", capacity="reserved")
  with fake_tpu_server.FakeTpuServer(operation_polls=2, creating_polls=2) as fake:
    api = make_api(fake)
    api.create(spec, node_for(api, spec))
    node = api.wait_ready(spec, timeout=600)
    assert node.state == tpu_v2.Node.State.READY and len(node.network_endpoints) == 1
    rpc, request = fake.requests[0]
    assert rpc == "CreateNode" and request.node_id == "resnet50-v4-32"
    sent = request.node
    assert sent.accelerator_type == "v4-8"
    assert sent.runtime_version == "tpu-ubuntu2204-base"
    assert sent.metadata["startup-script"] == "echo hi"
    assert sent.scheduling_config.reserved
    assert sent.labels["trellis-job"] == "resnet50-v4-32" and sent.labels["team"] == "vision"
    assert sent.service_account.email.startswith("tpu-trainer@")
    # The operation needed two GetOperation polls; the node two GetNode polls in CREATING.
    assert fake.rpcs() == ["CreateNode", "GetOperation", "GetOperation",
                           "GetNode", "GetNode", "GetNode"]
    assert [n.name for n in api.list_nodes(spec)] == [spec.node_name]
    api.delete(spec)
    assert fake.nodes == {} and fake.rpcs()[-3:] == ["DeleteNode", "GetOperation", "GetOperation"]


def test_pod_slice_on_spot_goes_through_a_queued_resource():
  spec = make_spec()
  with fake_tpu_server.FakeTpuServer(queued_polls=3) as fake:
    api = make_api(fake)
    api.create(spec, node_for(api, spec))
    rpc, request = fake.requests[0]
    assert rpc == "CreateQueuedResource"
    queued = request.queued_resource
    assert "spot" in queued and queued.tpu.node_spec[0].node.accelerator_type == "v4-32"
    assert queued.queueing_policy.valid_until_duration.total_seconds() == 12 * 3600
    node = api.wait_ready(spec, timeout=600)
    assert node.state == tpu_v2.Node.State.READY and len(node.network_endpoints) == 4
    # Polls: QR WAITING x3; QR ACTIVE + node CREATING; QR ACTIVE + node READY.
    assert fake.rpcs()[2:] == ["GetQueuedResource"] * 4 + ["GetNode", "GetQueuedResource",
                                                            "GetNode"]
    fake.preempt(spec.name)
    assert api.slice_lost(spec) == "its queued resource is SUSPENDED"
    with pytest.raises(errors.PreemptedError, match="SUSPENDED"):
      api.wait_ready(spec, timeout=600)
    api.delete(spec)  # force-deletes the queued resource and its node
    assert fake.queued == {} and fake.nodes == {}


def test_quota_error_names_quota_and_the_fix():
  spec = make_spec()
  with fake_tpu_server.FakeTpuServer(quota={"v4": 16}) as fake:
    api = make_api(fake)
    with pytest.raises(errors.QuotaError) as info:
      api.create(spec, node_for(api, spec))
  message = str(info.value)
  assert "TPU quota exhausted for v4-32 in us-central2-b (project my-trellis-project)" in message
  assert "Limit 16" in message and "request more quota" in message


def test_zone_without_capacity_fails_the_operation_with_a_capacity_error():
  spec = make_spec(accelerator_type="v4-8", capacity="on-demand")
  with fake_tpu_server.FakeTpuServer(no_capacity_zones=("us-central2-b",)) as fake:
    api = make_api(fake)
    with pytest.raises(errors.CapacityError, match=r"no free capacity.*another zone"):
      api.create(spec, node_for(api, spec))


def test_not_found_reads_are_none_and_deleting_nothing_is_a_clear_error():
  spec = make_spec()
  with fake_tpu_server.FakeTpuServer() as fake:
    api = make_api(fake)
    assert api.get_node(spec) is None and api.get_queued_resource(spec) is None
    api.delete(spec)  # the runner's cleanup: nothing there is fine
    with pytest.raises(errors.NotFoundError) as info:
      api.delete(spec, missing_ok=False)
  assert spec.queued_resource_name in str(info.value)
  assert "Check project and zone" in str(info.value)


def test_an_operation_that_never_finishes_times_out():
  spec = make_spec(accelerator_type="v4-8", capacity="on-demand")
  with fake_tpu_server.FakeTpuServer(operation_polls=10**6) as fake:
    api = make_api(fake)
    api.operation_timeout = 30
    with pytest.raises(errors.OperationTimeoutError, match="after 30 s"):
      api.create(spec, node_for(api, spec))
    assert 5 <= fake.rpcs().count("GetOperation") <= 12  # backoff 1, 2, 4, 4, ... over 30 s


def test_dry_run_prints_requests_and_sends_none():
  spec = make_spec()
  out = io.StringIO()
  with fake_tpu_server.FakeTpuServer() as fake:
    api = client_lib.TpuApi(fake.client(), dry_run=True, out=out)
    api.create(spec, node_for(api, spec))
    api.delete(spec)
    assert fake.requests == []
  text = out.getvalue()
  assert text.startswith("CreateQueuedResource {")
  body = json.loads(text[len("CreateQueuedResource "):text.index("\n}\n") + 2])
  assert body["queuedResourceId"] == "resnet50-v4-32" and body["queuedResource"]["spot"] == {}
  assert 'DeleteQueuedResource {\n  "force": true,' in text


def test_no_endpoint_under_a_test_refuses_to_reach_google():
  with pytest.raises(RuntimeError, match=r"refusing to contact tpu\.googleapis\.com"):
    client_lib.make_client(None)


def test_a_given_endpoint_never_looks_for_google_credentials(monkeypatch):
  def no_adc(*args, **kwargs):
    raise AssertionError("google.auth.default() must not be called for a local endpoint")

  monkeypatch.setattr("google.auth.default", no_adc)
  spec = make_spec()
  with fake_tpu_server.FakeTpuServer() as fake:
    api = client_lib.TpuApi(client_lib.make_client(fake.address))
    assert api.get_node(spec) is None and fake.rpcs() == ["GetNode"]
