"""The serving bench's vision models: vision publishes them, serving reads them as exports.

Serving never imports vision (DESIGN.md); `bazel run //vision:bench_exports -- --export_root=DIR`
publishes untrained ResNet exports and `bazel run //serving:bench -- --model=resnet20
--export_root=DIR` serves the newest version from there. This test joins the two halves.
"""

import pytest

from serving import bench
from serving.core import servable as servable_lib
from vision import bench_exports


def test_the_bench_serves_the_newest_resnet20_vision_published(tmp_path):
  for _ in range(2):
    bench_exports.publish(bench_exports.BENCH_EXPORTS["resnet20"], str(tmp_path))
  model = bench._models()["resnet20"]
  version, path = bench.served_version(str(tmp_path), model)
  assert (version, path) == (2, f"{tmp_path}/resnet20/2")  # the newest, as the server serves
  servable = servable_lib.load(model.name, version, path)
  assert set(servable.signatures) >= {"classify", "embed", "serving_default"}
  out = servable.signatures["serving_default"].run({model.input_name: model.row})
  assert out["class_ids"].shape == (1,) and out["probabilities"].shape == (1, 10)
  assert servable_lib.warm_up(servable) == 2  # one recorded raw input per signature


def test_bench_exports_names_the_models_it_can_publish():
  assert [e.name for e in bench_exports.chosen(["resnet50", "resnet20"])] == ["resnet50", "resnet20"]
  with pytest.raises(ValueError, match=r"--models has 'resnet21'; choose from resnet20, resnet50"):
    bench_exports.chosen(["resnet20", "resnet21"])
  with pytest.raises(ValueError, match="--models has nothing"):
    bench_exports.chosen([])
