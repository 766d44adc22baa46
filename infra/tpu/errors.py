"""Cloud TPU API errors turned into messages that say what happened and what to do.

The API's own messages are precise but assume you know Cloud TPU's quota and capacity model.
`explain` keeps the server's text and adds the next step. Quota and capacity both arrive as
RESOURCE_EXHAUSTED; they need different fixes (ask for quota vs. try another zone, queue, or
spot), so they are told apart by the server's message.
"""

from google.api_core import exceptions as core_exceptions


class TpuError(RuntimeError):
  """Base class of errors tpuctl reports to the user."""


class QuotaError(TpuError):
  """The project's TPU quota in the zone is used up."""


class CapacityError(TpuError):
  """The zone has no free TPUs of this type right now."""


class NotFoundError(TpuError):
  """The node, queued resource, project or zone does not exist."""


class AccessDeniedError(TpuError):
  """The caller (or the node's service account) lacks a role."""


class InvalidRequestError(TpuError):
  """The API rejected the request's content."""


class UnavailableError(TpuError):
  """The Cloud TPU API could not be reached or did not answer in time."""


class OperationTimeoutError(TpuError):
  """A long-running operation or state change did not finish in time."""


class PreemptedError(TpuError):
  """The slice was preempted or terminated."""


def _is_capacity(message: str) -> bool:
  text = message.lower()
  return any(w in text for w in ("capacity", "stockout", "no more resources", "unavailable in"))


def explain(error: core_exceptions.GoogleAPICallError, what: str, spec=None) -> TpuError:
  """The user-facing error for an API error.

  Args:
    error: what the client raised (or an operation's failure).
    what: the action, e.g. "create node projects/p/locations/z/nodes/n".
    spec: the JobSpec, when there is one, to name the accelerator, zone and project.

  Returns:
    A `TpuError` subclass whose message names the problem and the fix.
  """
  server = getattr(error, "message", None) or str(error)
  where = (f"{spec.accelerator.name} in {spec.zone} (project {spec.project})"
           if spec is not None else "this project and zone")
  if isinstance(error, core_exceptions.ResourceExhausted | core_exceptions.TooManyRequests):
    if _is_capacity(server):
      return CapacityError(
          f"cannot {what}: the zone has no free capacity for {where} ({server}). Use "
          "`capacity: spot` (queued), wait and retry, or pick another zone that offers "
          "this accelerator type (`gcloud compute tpus accelerator-types list --zone=ZONE`)")
    return QuotaError(
        f"cannot {what}: TPU quota exhausted for {where} ({server}). Delete idle TPUs "
        "(`tpuctl status`), request more quota at https://console.cloud.google.com/iam-admin/"
        "quotas (service tpu.googleapis.com), or use a smaller accelerator_type")
  if isinstance(error, core_exceptions.NotFound):
    return NotFoundError(
        f"cannot {what}: not found ({server}). Check project and zone in the job spec; if the "
        "slice was never created or was already deleted, run `tpuctl create JOB.yaml` or "
        "`tpuctl run JOB.yaml`")
  if isinstance(error, core_exceptions.PermissionDenied | core_exceptions.Unauthenticated):
    return AccessDeniedError(
        f"cannot {what}: permission denied ({server}). Run `gcloud auth application-default "
        "login`, make sure the Cloud TPU API is enabled (`gcloud services enable "
        "tpu.googleapis.com`), and that you have roles/tpu.admin and "
        "roles/iam.serviceAccountUser on the job's service_account")
  if isinstance(error, core_exceptions.AlreadyExists):
    return InvalidRequestError(
        f"cannot {what}: it already exists ({server}). `tpuctl run` reuses a slice it "
        "created; delete a foreign one with `tpuctl delete JOB.yaml` or rename the job")
  if isinstance(error, core_exceptions.InvalidArgument | core_exceptions.FailedPrecondition):
    return InvalidRequestError(
        f"cannot {what}: the API rejected the request ({server}). Check runtime_version "
        "(`gcloud compute tpus versions list --zone=ZONE`) and the network settings")
  if isinstance(error, core_exceptions.ServiceUnavailable | core_exceptions.DeadlineExceeded):
    return UnavailableError(
        f"cannot {what}: the Cloud TPU API did not answer ({server}). Check the network, "
        "and --endpoint if you gave one; the command is safe to run again")
  return TpuError(f"cannot {what}: {type(error).__name__}: {server}")


def from_operation_error(status, what: str, spec=None) -> TpuError:
  """The user-facing error for a failed operation's `google.rpc.Status`."""
  return explain(core_exceptions.from_grpc_status(status.code, status.message), what, spec)
