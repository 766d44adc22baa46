"""Tests for job spec validation: every problem is found before a request is sent."""

import copy
import pathlib
import re

import pytest
import yaml

from infra.tpu import spec as spec_lib

EXAMPLE = pathlib.Path(__file__).parent / "jobs" / "resnet50_v4_32.yaml"
# The checkout (Bazel's runfiles link to it), for the domains' BUILD files.
REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def example() -> dict:
  return yaml.safe_load(EXAMPLE.read_text())


def problems(raw: dict) -> str:
  with pytest.raises(spec_lib.SpecError) as info:
    spec_lib.parse(raw, source="job.yaml")
  return str(info.value)


def test_example_pod_job_loads():
  spec = spec_lib.load(EXAMPLE)
  assert spec.accelerator.name == "v4-32" and spec.accelerator.num_hosts == 4
  assert spec.capacity == "spot" and spec.uses_queued_resource
  assert spec.node_name == "projects/my-trellis-project/locations/us-central2-b/nodes/resnet50-v4-32"
  assert spec.code.target == "//vision:train"
  # {checkpoint_dir} puts the trainer's workdir where a re-created slice will look.
  assert "--workdir=gs://my-trellis-checkpoints/resnet50-v4-32/workdir" in spec.code.args
  # ...and tells the trainer which slice it is on.
  assert spec.code.args[-3:] == ("--config.distribution.tpu.name=resnet50-v4-32",
                                 "--config.distribution.tpu.zone=us-central2-b",
                                 "--config.distribution.tpu.project=my-trellis-project")
  assert spec.budget.max_hours == 12 and spec.budget.max_restarts == 5


def test_launch_decides_which_hosts_run_and_report():
  raw = example()
  spec = spec_lib.parse(raw)
  assert spec.code.launch == "worker0" and spec.reporting_hosts == 1  # TF drives the pod
  raw["code"]["launch"] = "every_host"
  assert spec_lib.parse(raw).reporting_hosts == 4
  del raw["code"]["launch"]
  assert spec_lib.parse(raw).code.launch == "worker0"
  raw["code"]["launch"] = "all"
  assert "code.launch: 'all' is not one of worker0, every_host" in problems(raw)


def test_missing_field_is_named_with_the_fix():
  raw = example()
  del raw["project"]
  del raw["budget"]
  message = problems(raw)
  assert "project: is missing; add it to the job spec" in message
  assert "budget.max_hours: is missing" in message


def test_bad_accelerator_type_lists_the_sizes_that_exist():
  raw = example()
  raw["accelerator_type"] = "v4-24"
  assert "accelerator_type: accelerator_type 'v4-24': v4 slices do not come with 24" in problems(
      raw)


def test_pod_slice_needs_a_gs_checkpoint_dir():
  raw = example()
  raw["checkpoint_dir"] = "file:///tmp/ckpt"
  message = problems(raw)
  assert "checkpoint_dir: 'file:///tmp/ckpt' is not a gs:// path" in message
  assert "v4-32 is a pod slice of 4 hosts" in message and "use gs://BUCKET/PATH" in message


def test_single_host_may_use_a_local_checkpoint_dir_but_not_a_bare_path():
  raw = example()
  raw.update(accelerator_type="v4-8", capacity="on-demand", checkpoint_dir="file:///tmp/ckpt")
  spec = spec_lib.parse(raw)
  assert not spec.accelerator.is_pod_slice and not spec.uses_queued_resource
  raw["checkpoint_dir"] = "/tmp/ckpt"
  assert "must be gs://BUCKET/PATH (or file:///PATH" in problems(raw)


def test_every_problem_is_reported_at_once():
  raw = example()
  raw["zone"] = "us-central2"
  raw["capacity"] = "cheap"
  raw["code"]["revision"] = "main"
  raw["code"]["target"] = "vision:train"
  raw["labels"]["Team"] = "Vision"
  raw["colour"] = "blue"
  raw["budget"]["max_hours"] = -1
  message = problems(raw)
  assert message.startswith("job spec job.yaml is not valid:")
  for expected in ("zone: 'us-central2' is not a zone",
                   "capacity: 'cheap' is not one of spot, reserved, on-demand",
                   "code.revision: 'main' is not a commit id; pin one",
                   "code.target: 'vision:train' is not a Bazel target",
                   "labels.Team",
                   "colour: unknown field; known fields are: name, project",
                   "budget.max_hours: must be a positive number of hours, got -1"):
    assert expected in message


def test_wrong_shapes_are_errors_not_crashes():
  raw = example()
  raw["code"] = ["//vision:train"]
  raw["network"] = "default"
  message = problems(raw)
  assert "code: must be a mapping" in message and "network: must be a mapping" in message
  raw = copy.deepcopy(example())
  raw["code"]["args"] = "--config=x.py"
  assert "code.args: must be a list of strings" in problems(raw)
  assert "must be a YAML mapping" in problems(["not", "a", "mapping"])


def test_load_reports_missing_files_and_bad_yaml(tmp_path):
  with pytest.raises(spec_lib.SpecError, match="does not exist; see infra/tpu/jobs/"):
    spec_lib.load(tmp_path / "nope.yaml")
  bad = tmp_path / "bad.yaml"
  bad.write_text("name: [unclosed\n")
  with pytest.raises(spec_lib.SpecError, match="is not valid YAML"):
    spec_lib.load(bad)


def test_tensorflow_on_a_pod_needs_the_pod_runtime_image():
  version = spec_lib.locked_tensorflow()
  raw = example()
  raw["runtime_version"] = f"tpu-vm-tf-{version}-pjrt"
  assert (f"runtime_version: 'tpu-vm-tf-{version}-pjrt' is a single-host TensorFlow image"
          in problems(raw))
  raw["accelerator_type"] = "v4-8"  # one host: the plain image is right
  assert spec_lib.parse(raw).runtime_version == f"tpu-vm-tf-{version}-pjrt"


def test_the_lock_pins_tensorflow_tpu_and_the_example_runs_it_on_a_bare_image():
  assert re.fullmatch(r"\d+\.\d+\.\d+", spec_lib.locked_tensorflow())
  spec = spec_lib.load(EXAMPLE)
  assert spec.runtime_version == "tpu-ubuntu2204-base"


@pytest.mark.parametrize("accelerator, image, says", [
    # The old example: an image with its own TensorFlow 2.16.1 plus the lock's tensorflow-tpu.
    ("v4-32", "tpu-vm-tf-2.16.1-pod-pjrt",
     "runtime_version: 'tpu-vm-tf-2.16.1-pod-pjrt' carries TensorFlow 2.16.1, but the job runs "
     "the TPU lock (requirements-tpu.txt: tensorflow-tpu {lock}, installed by `make setup-tpu`), "
     "so the host would hold two TensorFlow builds and TPU runtimes; use 'tpu-ubuntu2204-base'"),
    ("v5litepod-16", "tpu-ubuntu2204-base",
     "runtime_version: 'tpu-ubuntu2204-base' is the base image for v2, v3, v4 TPUs, not "
     "v5litepod; use 'v2-alpha-tpuv5-lite'"),
    ("v4-8", "tpu-vm-pt-2.0",
     "runtime_version: 'tpu-vm-pt-2.0' is neither a bare TPU image nor a tpu-vm-tf-{lock} image"),
])
def test_an_image_that_does_not_match_the_lock_is_rejected(accelerator, image, says):
  raw = example()
  raw.update(accelerator_type=accelerator, runtime_version=image)
  assert says.format(lock=spec_lib.locked_tensorflow()) in problems(raw)


@pytest.mark.parametrize("accelerator, image", [
    ("v4-32", "tpu-ubuntu2204-base"), ("v5litepod-16", "v2-alpha-tpuv5-lite"),
    ("v5p-8", "v2-alpha-tpuv5"), ("v6e-8", "v2-alpha-tpuv6e"),
    ("v4-32", "tpu-vm-tf-{lock}-pod-pjrt"),  # an image whose TensorFlow is the lock's
])
def test_bare_images_and_the_locks_own_tensorflow_image_are_accepted(accelerator, image):
  raw = example()
  raw.update(accelerator_type=accelerator,
             runtime_version=image.format(lock=spec_lib.locked_tensorflow()))
  assert spec_lib.parse(raw).accelerator.name == accelerator


def test_a_missing_lock_is_named(tmp_path):
  with pytest.raises(spec_lib.SpecError, match=r"requirements-tpu\.txt is missing; run `make lock-tpu`"):
    spec_lib.locked_tensorflow(tmp_path / "requirements-tpu.txt")


def test_a_target_without_an_entry_point_is_rejected():
  raw = example()
  raw["code"]["target"] = "//tools:demo"
  assert ("code.target: '//tools:demo' has no entry point for TPU hosts, which run Python from "
          ".venv-tpu, not Bazel") in problems(raw)


@pytest.mark.parametrize("target, module", sorted(spec_lib.ENTRY_POINTS.items()))
def test_each_entry_point_is_the_main_file_of_its_bazel_target(target, module):
  package, name = target[2:].split(":")
  build = (REPO_ROOT / package / "BUILD").read_text()
  main_file = module.rsplit(".", 1)[1] + ".py"
  rule = re.search(r'py_binary\(\s*name = "' + name + r'",\s*srcs = \["([^"]+)"\]', build)
  assert rule and rule[1] == main_file, f"{target}: {package}/BUILD does not run {main_file}"
  assert module.replace(".", "/") + ".py" == f"{package}/{main_file}"


def test_export_root_and_the_export_step():
  spec = spec_lib.load(EXAMPLE)
  assert spec.export_root == "gs://my-trellis-models/vision"
  assert spec.code.export == spec_lib.Export("//vision:export", (
      "--workdir=gs://my-trellis-checkpoints/resnet50-v4-32/workdir",
      "--export_root=gs://my-trellis-models/vision"))
  raw = example()
  del raw["code"]["export"], raw["export_root"]
  spec = spec_lib.parse(raw)  # both are optional
  assert spec.export_root is None and spec.code.export is None


@pytest.mark.parametrize("change, says", [
    (lambda raw: raw.update(export_root="file:///models"),
     "export_root: 'file:///models' is not a gs:// path, but v4-32 is a pod slice of 4 hosts"),
    (lambda raw: raw.update(export_root="/models"), "export_root: '/models' is not a gs:// path"),
    (lambda raw: raw.pop("export_root"),
     "export_root: is missing, but code.export publishes models there; add export_root: "
     "gs://BUCKET/PATH"),
    (lambda raw: (raw.pop("export_root"), raw["code"].pop("export"),
                  raw["code"]["args"].append("--export_dir={export_root}")),
     "export_root: is missing, but {export_root} is used in code.args"),
    (lambda raw: raw["code"].pop("export"), "export_root: is set but nothing uses it: add "
                                            "code.export (e.g. {target: //vision:export"),
    (lambda raw: raw.update(export_root="gs://my-trellis-checkpoints/resnet50-v4-32/models"),
     "overlap; the export step copies checkpoint_dir, so give exports their own path"),
    (lambda raw: raw["code"]["export"].update(target="vision:export"),
     "code.export.target: 'vision:export' is not a Bazel target such as //vision:export"),
    (lambda raw: raw["code"]["export"].update(when="always"),
     "code.export.when: unknown field; known fields are: target, args"),
    (lambda raw: raw["code"]["export"].pop("target"), "code.export.target: is missing"),
])
def test_bad_export_settings_are_named_with_the_fix(change, says):
  raw = example()
  change(raw)
  assert says in problems(raw)


def test_a_single_host_may_export_to_a_local_directory():
  raw = example()
  raw.update(accelerator_type="v4-8", export_root="file:///srv/models/")
  spec = spec_lib.parse(raw)
  assert spec.export_root == "file:///srv/models"
  assert spec.code.export.args[-1] == "--export_root=file:///srv/models"
