"""The server's command line: security warnings and REST limits are read and checked at start."""

import logging

import pytest
import tensorflow as tf

from serving.core import server_main


@pytest.fixture
def export_root(tmp_path):
  (tmp_path / "exports").mkdir()
  (tmp_path / "token").write_text("s3cret\n")
  return tmp_path


def _options(root, *flags):
  args = server_main.build_parser().parse_args([f"--export_root={root / 'exports'}", *flags])
  return server_main.options_from_args(args)


def test_token_without_tls_warns_that_it_travels_in_clear_text(export_root, caplog):
  with caplog.at_level(logging.WARNING, logger="serving.core.server_main"):
    options = _options(export_root, f"--bearer_token_file={export_root / 'token'}")
  assert options.bearer_token == "s3cret"
  warning = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
  assert "clear text" in warning
  assert "--tls_cert" in warning and "--tls_key" in warning  # says how to fix it


def test_token_with_tls_does_not_warn(export_root, caplog):
  with caplog.at_level(logging.WARNING, logger="serving.core.server_main"):
    _options(export_root, f"--bearer_token_file={export_root / 'token'}",
             f"--tls_cert={export_root / 'cert.pem'}", f"--tls_key={export_root / 'key.pem'}")
  assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_rest_limits_come_from_flags(export_root):
  options = _options(export_root, "--rest_header_timeout_seconds=2.5",
                     "--rest_body_timeout_seconds=7", "--rest_max_connections=64")
  limits = options.rest_limits
  assert (limits.header_seconds, limits.body_seconds, limits.max_connections) == (2.5, 7.0, 64)


@pytest.mark.parametrize("flag", ["--rest_header_timeout_seconds=0", "--rest_body_timeout_seconds=-1",
                                  "--rest_max_connections=0", "--max_tensor_bytes=0"])
def test_non_positive_rest_limits_are_refused(export_root, flag):
  with pytest.raises(SystemExit, match=f"{flag.split('=')[0]} must be positive"):
    _options(export_root, flag)


def test_max_tensor_bytes_comes_from_its_flag(export_root):
  assert _options(export_root, "--max_tensor_bytes=4096").max_tensor_bytes == 4096


def test_a_non_local_export_root_is_kept_as_a_url_and_checked_through_tensorflow():
  tf.io.gfile.makedirs("ram://server_main_test/exports/affine/1")
  args = server_main.build_parser().parse_args(["--export_root=ram://server_main_test/exports"])
  assert server_main.options_from_args(args).export_root == "ram://server_main_test/exports"
  args.domain_models = ("affine", "missing")
  assert server_main.options_from_args(args).model_names == ("affine",)
  args = server_main.build_parser().parse_args(["--export_root=ram://server_main_test/nothing"])
  with pytest.raises(SystemExit, match="is not a directory"):
    server_main.options_from_args(args)


def test_per_model_tensor_limits_come_from_their_flag(export_root):
  options = _options(export_root, "--model_max_tensor_bytes=affine:4096",
                     "--model_max_tensor_bytes=vision_resnet50:67108864")
  assert options.model_max_tensor_bytes == {"affine": 4096, "vision_resnet50": 67108864}


@pytest.mark.parametrize("value", ["affine", "affine:0", ":4096", "affine:lots"])
def test_a_malformed_per_model_limit_is_refused_with_an_example(export_root, value):
  with pytest.raises(SystemExit, match="is not MODEL:BYTES"):
    _options(export_root, f"--model_max_tensor_bytes={value}")
