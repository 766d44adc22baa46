"""TensorFlow Serving's `ModelService`: GetModelStatus from the model registry.

A version that failed to load shows as END with error_code UNKNOWN and the load
error as error_message, beside the version that keeps serving (AVAILABLE).
"""

import grpc
from tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc

from serving.core import errors
from serving.core.grpc_errors import handle_errors
from serving.core.model_registry import ModelRegistry, VersionStatus
from serving.core.prediction_service import model_spec_version

_State = get_model_status_pb2.ModelVersionStatus.State


def version_statuses(registry: ModelRegistry, name: str, version: int | None
                     ) -> list[VersionStatus]:
  """The statuses to report; NOT_FOUND for unknown models or versions."""
  if name not in registry.model_names():
    raise errors.not_found(f"model {name!r} is not served; served models: "
                           f"{registry.model_names() or 'none'}")
  statuses = registry.statuses(name)
  if version is not None:
    statuses = [s for s in statuses if s.version == version]
    if not statuses:
      raise errors.not_found(f"model {name!r} has no version {version}; known versions: "
                             f"{[s.version for s in registry.statuses(name)]}")
  return statuses


class ModelService(model_service_pb2_grpc.ModelServiceServicer):

  def __init__(self, registry: ModelRegistry):
    self.registry = registry

  @handle_errors
  def GetModelStatus(self, request, context):  # noqa: N802 -- gRPC method name
    spec = request.model_spec
    response = get_model_status_pb2.GetModelStatusResponse()
    for status in version_statuses(self.registry, spec.name, model_spec_version(spec)):
      entry = response.model_version_status.add()
      entry.version = status.version
      entry.state = _State.Value(status.state)
      if status.error:
        entry.status.error_code = 2  # tensorflow.error.Code.UNKNOWN
        entry.status.error_message = status.error
    return response

  @handle_errors
  def HandleReloadConfigRequest(self, request, context):  # noqa: N802 -- gRPC method name
    raise errors.ServingError(
        grpc.StatusCode.UNIMPLEMENTED,
        "models are discovered from --export_root and hot-reloaded; publish a new version "
        "directory instead of sending a config")
