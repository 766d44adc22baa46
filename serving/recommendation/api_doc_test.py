"""API.md is what api_doc renders from the current .proto."""

import pathlib

from serving.recommendation import api_doc


def test_api_reference_is_fresh():
  root = pathlib.Path(__file__).resolve().parents[2]
  text = api_doc.render(root)
  assert (root / api_doc.OUT).read_text() == text, (
      "serving/recommendation/API.md is stale: run `bazel run //serving/recommendation:api_doc`")


def test_reference_documents_every_rpc_with_its_comment():
  text = api_doc.render(pathlib.Path(__file__).resolve().parents[2])
  assert "| `Recommend` | `RecommendRequest` | `RecommendResponse` | POST /v1/recommend | Top-k items" in text
  assert "| `filter` | ItemFilter | 8 |" in text
  assert "| `min_price` | optional float | 2 | Inclusive price bounds; absent = unbounded. |" in text
