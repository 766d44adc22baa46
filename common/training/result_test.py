"""TrainResult writes a JSON summary any gfile location can hold, and reads it back."""

import numpy as np
import pytest
import tensorflow as tf

from common.training import result as result_lib


def _result():
  return result_lib.TrainResult(
      model=object(), baseline=object(), data=None,
      metrics={"validation": {"model": {"accuracy": np.float32(0.5)}, "baseline": {"accuracy": 0.1}}},
      data_fingerprint="digits:0123456789abcdef", epochs=3, train_seconds=1.23456)


@pytest.mark.parametrize("root", ["local", "ram://result_test/run"])
def test_summary_round_trips(tmp_path, root):
  workdir = str(tmp_path / "run") if root == "local" else root
  r = _result()
  r.write(workdir)
  summary = result_lib.read_summary(workdir)
  assert summary["metrics"]["validation"]["model"]["accuracy"] == 0.5
  assert summary["data_fingerprint"] == "digits:0123456789abcdef"
  assert summary["epochs"] == 3 and summary["train_seconds"] == 1.235


@pytest.mark.parametrize("root", ["local", "ram://result_test/rewrite"])
def test_a_second_write_replaces_the_first(tmp_path, root):
  workdir = str(tmp_path / "run") if root == "local" else root
  first = _result()
  first.write(workdir)
  second = _result()
  second.epochs = 7
  second.write(workdir)
  assert result_lib.read_summary(workdir)["epochs"] == 7
  assert tf.io.gfile.listdir(workdir) == [result_lib.RESULT_FILE]


def test_missing_summary_says_how_to_make_one(tmp_path):
  with pytest.raises(FileNotFoundError, match="run the domain's train target"):
    result_lib.read_summary(str(tmp_path / "nowhere"))
