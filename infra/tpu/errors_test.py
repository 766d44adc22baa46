"""Tests for turning Cloud TPU API errors into messages with a fix."""

from google.api_core import exceptions as core_exceptions
from google.rpc import code_pb2, status_pb2

from infra.tpu import errors


def test_quota_and_capacity_are_told_apart():
  quota = errors.explain(core_exceptions.ResourceExhausted(
      "Quota 'TPUV4PodPerProjectPerZoneForTPUAPI' exhausted. Limit 16"), "create slice x")
  capacity = errors.explain(core_exceptions.ResourceExhausted(
      'There is no more capacity in the zone "us-central2-b"'), "create slice x")
  assert isinstance(quota, errors.QuotaError)
  assert "TPU quota exhausted" in str(quota) and "request more quota" in str(quota)
  assert "TPUV4PodPerProjectPerZoneForTPUAPI" in str(quota)  # the server's words are kept
  assert isinstance(capacity, errors.CapacityError)
  assert "another zone" in str(capacity) and "capacity: spot" in str(capacity)


def test_not_found_permission_and_conflicts_say_what_to_do():
  not_found = errors.explain(core_exceptions.NotFound("Resource 'n' was not found"), "get n")
  assert isinstance(not_found, errors.NotFoundError)
  assert "Check project and zone" in str(not_found) and "tpuctl run" in str(not_found)
  denied = errors.explain(core_exceptions.PermissionDenied("no tpu.nodes.create"), "create n")
  assert isinstance(denied, errors.AccessDeniedError)
  assert "roles/tpu.admin" in str(denied) and "gcloud services enable tpu.googleapis.com" in str(
      denied)
  exists = errors.explain(core_exceptions.AlreadyExists("exists"), "create n")
  assert "tpuctl delete" in str(exists)
  bad = errors.explain(core_exceptions.InvalidArgument("bad runtime"), "create n")
  assert "gcloud compute tpus versions list" in str(bad)


def test_operation_errors_use_the_same_mapping():
  status = status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED,
                             message="There is no more capacity in the zone")
  assert isinstance(errors.from_operation_error(status, "create n"), errors.CapacityError)
  status = status_pb2.Status(code=code_pb2.PERMISSION_DENIED, message="denied")
  assert isinstance(errors.from_operation_error(status, "create n"), errors.AccessDeniedError)


def test_an_unreachable_api_says_to_check_the_network_and_endpoint():
  down = errors.explain(core_exceptions.ServiceUnavailable("failed to connect"), "get n")
  assert isinstance(down, errors.UnavailableError)
  assert "did not answer (failed to connect)" in str(down) and "--endpoint" in str(down)
