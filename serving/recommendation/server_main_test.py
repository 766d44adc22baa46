"""The recommendation server's flags say what they do."""

from serving.recommendation import candidate_index, server_main


def test_exact_limit_help_names_the_default_index_kind():
  parser = server_main.build_parser()
  text = " ".join(parser.format_help().split())
  default_kind = parser.parse_args([]).index_kind
  assert default_kind == candidate_index.IndexOptions().kind == "ivf"
  assert "larger than this get a faiss index (--index_kind, IVF by default)" in text
  assert "HNSW index" not in text  # the default index is IVF, not HNSW
