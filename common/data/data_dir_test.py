"""data_dir: the flag > env > default order, and errors that say what to put where."""

import pathlib

import pytest

from common.data import data_dir


def test_flag_wins_over_env(tmp_path, monkeypatch):
  other = tmp_path / "env"
  other.mkdir()
  monkeypatch.setenv(data_dir.ENV_VAR, str(other))
  assert data_dir.resolve(str(tmp_path)) == tmp_path


def test_env_wins_over_default(tmp_path, monkeypatch):
  monkeypatch.setenv(data_dir.ENV_VAR, str(tmp_path))
  assert data_dir.resolve(None) == tmp_path
  assert data_dir.resolve("") == tmp_path


def test_default_is_shared_data_next_to_the_repo(monkeypatch):
  monkeypatch.delenv(data_dir.ENV_VAR, raising=False)
  monkeypatch.delenv("BUILD_WORKSPACE_DIRECTORY", raising=False)
  root = data_dir.repo_root()
  assert (root / "common" / "data" / "data_dir.py").exists()
  assert data_dir.resolve(None, must_exist=False) == (root.parent / "shared" / "data").resolve()


def test_bazel_run_workspace_is_the_repo_root(monkeypatch, tmp_path):
  monkeypatch.setenv("BUILD_WORKSPACE_DIRECTORY", str(tmp_path / "repo"))
  assert data_dir.repo_root() == tmp_path / "repo"
  assert data_dir.default_data_dir() == (tmp_path / "shared" / "data").resolve()


def test_missing_data_dir_says_where_it_came_from_and_how_to_fix(tmp_path, monkeypatch):
  missing = tmp_path / "nope"
  monkeypatch.setenv(data_dir.ENV_VAR, str(missing))
  with pytest.raises(data_dir.DataNotFoundError) as e:
    data_dir.resolve(None)
  message = str(e.value)
  assert str(missing) in message and "$TRELLIS_DATA_DIR" in message and "--data_dir" in message


def test_require_returns_existing_file(tmp_path):
  (tmp_path / "ett").mkdir()
  (tmp_path / "ett" / "ETTh1.csv").write_text("date,OT\n")
  assert data_dir.require(tmp_path, "ett/ETTh1.csv") == tmp_path / "ett" / "ETTh1.csv"


def test_require_missing_file_names_file_place_and_command(tmp_path):
  with pytest.raises(data_dir.DataNotFoundError) as e:
    data_dir.require(tmp_path, "ett/ETTh1.csv", hint="run `bazel run //tools:download -- ett`")
  message = str(e.value)
  assert "has no ett/ETTh1.csv" in message
  assert str(tmp_path / "ett" / "ETTh1.csv") in message
  assert "bazel run //tools:download -- ett" in message


def test_require_in_missing_dir_says_dir_is_missing(tmp_path):
  with pytest.raises(data_dir.DataNotFoundError, match="does not exist"):
    data_dir.require(pathlib.Path(tmp_path / "gone"), "u.data")


def test_real_data_dir_when_present(monkeypatch):
  # Bazel passes TRELLIS_DATA_DIR through; without it the default must still be well formed.
  path = data_dir.resolve(None, must_exist=False)
  if not path.is_dir():
    pytest.skip(f"no real data at {path} (set TRELLIS_DATA_DIR)")
  assert any(path.iterdir())


def test_a_url_data_dir_is_refused_with_the_way_to_read_cloud_data(monkeypatch):
  # pathlib would turn gs://bucket/data into the local folder "gs:/bucket/data".
  with pytest.raises(data_dir.DataNotFoundError, match=r"gs://b/data \(from --data_dir\) is a URL"
                     r".*--data_dir=/tmp/data.*config.data.train_files"):
    data_dir.resolve("gs://b/data")
  monkeypatch.setenv(data_dir.ENV_VAR, "gs://b/env")
  with pytest.raises(data_dir.DataNotFoundError, match=r"from \$TRELLIS_DATA_DIR\) is a URL"):
    data_dir.resolve(None)
