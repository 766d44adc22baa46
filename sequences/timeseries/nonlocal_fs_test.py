"""A forecaster run entirely on a non-local file system: train an ensemble, reuse it, export it.

TensorFlow's `ram://` file system stands in for `gs://`: both are reached only through
tf.io.gfile and TensorFlow's savers, so an `open`, `os.path` or `pathlib` call left on the workdir,
the members' root or the export root breaks this test (pathlib turns `ram://x` into a local folder
`ram:/x`, which the last assertion looks for in the working directory).

    bazel test //sequences/timeseries:nonlocal_fs_test
"""

import json

import ml_collections
import numpy as np
import tensorflow as tf

from common.export import metadata, publish
from sequences.timeseries import export, input_pipeline, train
from sequences.timeseries.configs import default

ROOT = "ram://timeseries_nonlocal_fs_test"


def _write_toy_series(path: str) -> str:
  """400 hourly rows of two noisy seasonal channels, as a `timestamp,a,b` CSV at `path`."""
  t = np.arange(400, dtype=np.float32)
  values = np.stack([np.sin(2 * np.pi * t / 24), np.cos(2 * np.pi * t / 12) + 0.01 * t], axis=1)
  values += np.random.default_rng(0).normal(0, 0.1, values.shape).astype(np.float32)
  stamps = np.datetime64("2020-01-01T00") + np.arange(400) * np.timedelta64(1, "h")
  with tf.io.gfile.GFile(path, "w") as f:
    f.write("timestamp,a,b\n" + "".join(
        f"{stamp},{a!r},{b!r}\n" for stamp, (a, b) in zip(stamps, values.tolist(), strict=True)))
  return path


def test_train_reuse_and_export_on_ram_filesystem(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  config = default.get_config()
  config.model = "Ensemble"
  config.ensemble.members = ml_collections.ConfigDict(
      {"a": {"model": "Linear", "lookback": 24}, "b": {"model": "Linear", "seed": 2}})
  config.data.source = "csv"
  config.data.path = _write_toy_series(f"{ROOT}/data/toy.csv")  # the series is on ram:// too
  config.data.split = "fraction"
  config.lookback, config.horizon, config.epochs = 48, 12, 1
  workdir, members = f"{ROOT}/run", f"{ROOT}/members"
  config.ensemble.member_root, config.verbose = members, 0

  result = train.train_and_evaluate(config, workdir)
  for name in ("config.json", "scaler.json", "result.json", "forecast.png",
               "checkpoint/model.index"):
    assert tf.io.gfile.exists(f"{workdir}/{name}"), name
  member_dirs = tf.io.gfile.listdir(members)
  assert len(member_dirs) == 2, member_dirs
  with tf.io.gfile.GFile(f"{workdir}/forecast.png", "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"

  # The finished run is recognised on ram:// and reloaded with its recorded figures.
  again = train.finished_result(config, workdir)
  assert again is not None and again.metrics == json.loads(json.dumps(result.metrics))

  # `//sequences/timeseries:export` publishes from the ram:// workdir to a ram:// export root.
  export_dir = export.export_from_workdir(workdir, f"{ROOT}/exports")
  assert str(export_dir).startswith(f"{ROOT}/exports/"), export_dir
  assert metadata.read(str(export_dir))["data_fingerprint"] == result.data_fingerprint
  loaded = publish.load(f"{ROOT}/exports/{config.export.model_name}")
  history, _ = input_pipeline.arrays(result.data, "test")
  scaler = result.data.scaler
  np.testing.assert_allclose(export.raw_forecast(loaded, scaler.inverse(history[:4])),
                             scaler.inverse(result.model(history[:4]).numpy()),
                             rtol=1e-4, atol=1e-4)

  # Nothing went to a local folder named after the scheme.
  assert not list(tmp_path.iterdir()), list(tmp_path.iterdir())
