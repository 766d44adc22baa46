"""A forecaster run entirely on a non-local file system: train an ensemble, reuse it, export it.

TensorFlow's `ram://` file system stands in for `gs://`: both are reached only through
tf.io.gfile and TensorFlow's savers, so an `open`, `os.path` or `pathlib` call left on the workdir,
the members' root or the export root breaks this test (pathlib turns `ram://x` into a local folder
`ram:/x`, which the last assertion looks for in the working directory).

    bazel test //sequences/timeseries:nonlocal_fs_test
"""

import json

import numpy as np
import tensorflow as tf

from common.export import publish
from sequences.timeseries import export, input_pipeline, loaders, train
from sequences.timeseries.configs import default

ROOT = "ram://timeseries_nonlocal_fs_test"


def _toy_series():
  t = np.arange(400, dtype=np.float32)
  values = np.stack([np.sin(2 * np.pi * t / 24), np.cos(2 * np.pi * t / 12) + 0.01 * t], axis=1)
  values += np.random.default_rng(0).normal(0, 0.1, values.shape).astype(np.float32)
  stamps = np.datetime64("2020-01-01T00") + np.arange(400) * np.timedelta64(1, "h")
  return loaders.Series(name="toy", timestamps=stamps, columns=("a", "b"), values=values)


def test_train_reuse_and_export_on_ram_filesystem(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  series = _toy_series()
  config = default.get_config()
  config.model = "Ensemble"
  config.ensemble_members = "Linear[lookback=24];Linear[seed=2]"
  config.data.source = "csv"
  config.data.split = "fraction"
  config.lookback, config.horizon, config.epochs = 48, 12, 1
  workdir, members = f"{ROOT}/run", f"{ROOT}/members"

  result = train.train_and_evaluate(config, workdir, series=series, verbose=0,
                                    member_root=members)
  for name in ("config.json", "scaler.json", "metrics.json", "forecast.png",
               "checkpoint/model.index"):
    assert tf.io.gfile.exists(f"{workdir}/{name}"), name
  member_dirs = tf.io.gfile.listdir(members)
  assert len(member_dirs) == 2, member_dirs
  with tf.io.gfile.GFile(f"{workdir}/forecast.png", "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"

  # The finished run is recognised on ram:// and reloaded with its recorded figures.
  again = train.finished_result(config, workdir, series=series)
  assert again is not None and again.test == json.loads(json.dumps(result.test))

  # `//sequences/timeseries:export` publishes from the ram:// workdir to a ram:// export root.
  export_dir = export.export_from_workdir(workdir, f"{ROOT}/exports")
  assert str(export_dir).startswith(f"{ROOT}/exports/"), export_dir
  loaded = publish.load(f"{ROOT}/exports/{config.export.model_name}")
  history, _ = input_pipeline.arrays(result.data, "test")
  scaler = result.data.scaler
  np.testing.assert_allclose(export.raw_forecast(loaded, scaler.inverse(history[:4])),
                             scaler.inverse(result.model(history[:4]).numpy()),
                             rtol=1e-4, atol=1e-4)

  # Nothing went to a local folder named after the scheme.
  assert not list(tmp_path.iterdir()), list(tmp_path.iterdir())
