"""A vision run entirely on a non-local file system: train, be killed, resume, export, answer.

TensorFlow's `ram://` file system stands in for `gs://`: both are reached only through
tf.io.gfile and TensorFlow's own savers, so any `open`, `os.path` or `pathlib` call left on the
workdir or the export root breaks this test (pathlib turns `ram://x` into a local folder
`ram:/x`, which the last assertion looks for). `ram://` lives in this process's memory, so the
run, its resumption and the export are driven in-process, through the same functions
`bazel run //vision:train` and `//vision:export` call. Why the cross-process version against a
Cloud Storage emulator is not here: see common/data/README.md ("Non-local file systems").

    bazel test //vision:nonlocal_fs_test
"""


import numpy as np
import pytest
import tensorflow as tf

from common import config as config_lib
from common.export import metadata, publish, versions
from common.shopworld import world as shopworld
from common.testing import flags as flags_testing
from common.training import fit as fit_lib
from common.training import result as result_lib
from vision import data as data_lib
from vision import export, main
from vision import train as train_lib

WORKDIR = "ram://nonlocal_fs_test/runs/vision"
EXPORT_ROOT = "ram://nonlocal_fs_test/exports"
EPOCHS = 3


class PreemptedError(Exception):
  """Raised by a callback at the end of epoch 2, as a preempted TPU VM would kill the job."""


class _PreemptAfter(tf.keras.callbacks.Callback):
  def __init__(self, epoch):
    super().__init__()
    self.epoch = epoch

  def on_epoch_end(self, epoch, logs=None):
    if epoch == self.epoch:
      raise PreemptedError(f"killed after epoch {epoch + 1}")


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory):
  path = tmp_path_factory.mktemp("world")
  shopworld.generate(seed=0, size="tiny").write(path)
  return str(path)


def _train_via_main(world_dir):
  """What `bazel run //vision:train -- --workdir=ram://... --config.x=...` runs."""
  argv = ["train", f"--workdir={WORKDIR}", "--config=vision/configs/default.py",
          f"--config.data.path={world_dir}", "--config.data.split_fractions=(0.7,0.1,0.2)",
          f"--config.epochs={EPOCHS}", "--config.batch_size=32",
          "--config.resnet.image_size=16", "--config.steps_per_epoch=3",
          "--config.distribution.jit_compile=False"]
  flags_testing.run_main(main.main, argv)


def test_train_killed_resumed_exported_and_answered_on_a_non_local_file_system(
    world_dir, tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)  # anything written "locally" by mistake would land here
  epochs_run = []
  real_fit = fit_lib.fit

  def fit_recording_epochs(*args, extra_callbacks=None, **kwargs):
    history = real_fit(*args, extra_callbacks=(extra_callbacks or []) + callbacks, **kwargs)
    epochs_run.append(list(history.epoch))
    return history

  monkeypatch.setattr(fit_lib, "fit", fit_recording_epochs)

  # 1. The job is killed at the end of its second epoch (after the backup was written).
  callbacks = [_PreemptAfter(1)]
  with pytest.raises(PreemptedError):
    _train_via_main(world_dir)
  assert tf.io.gfile.exists(f"{WORKDIR}/config.json")
  assert tf.io.gfile.listdir(f"{WORKDIR}/backup")  # the BackupAndRestore state, on ram://

  # 2. Started again with the same workdir, it resumes from the backup: only epoch 3 runs.
  callbacks = []
  _train_via_main(world_dir)
  assert epochs_run == [[2]]
  with tf.io.gfile.GFile(f"{WORKDIR}/train_log.csv") as f:
    logged_epochs = [line.split(",")[0] for line in f.read().splitlines()[1:]]
  assert logged_epochs == ["0", "1", "2"]  # each epoch once over both processes' lives
  test = result_lib.read_summary(WORKDIR)["metrics"]["test"]
  test_size = data_lib.load(config_lib.read_saved(WORKDIR).data).sizes["test"]
  assert test["examples"] == test_size  # every test image, once
  for name in ("final/weights.index", "checkpoints/epoch-0003.index", "tensorboard",
               "model_info.json", "config.txt"):
    assert tf.io.gfile.exists(f"{WORKDIR}/{name}"), name
  assert config_lib.read_saved(WORKDIR).epochs == EPOCHS

  # 3. `//vision:export` publishes to a ram:// export root, metadata.json last.
  version_dir = export.export(WORKDIR, EXPORT_ROOT)
  assert version_dir == f"{EXPORT_ROOT}/vision_resnet20/1"
  assert versions.list_versions(f"{EXPORT_ROOT}/vision_resnet20") == [1]
  meta = metadata.read(f"{EXPORT_ROOT}/vision_resnet20")
  assert meta["metrics"]["test_accuracy"] == pytest.approx(test["model"]["accuracy"])

  # 4. Loaded from the export root (as the model server does, newest complete version) and
  # asked about a real image: the answer equals the trained Keras model's.
  loaded = publish.load(f"{EXPORT_ROOT}/vision_resnet20")
  item_png = shopworld_image(world_dir)
  answer = loaded.signatures["classify"](image_bytes=tf.constant([item_png]))
  _, info, model = train_lib.load_run(WORKDIR)
  image = export.preprocessing.decode_batch(tf.constant([item_png]), 16, 1.0,
                                            export.preprocessing.DEFAULT_MAX_PIXELS)
  expected = tf.nn.softmax(model(image, training=False)).numpy()
  np.testing.assert_allclose(answer["probabilities"].numpy(), expected, atol=1e-5)
  assert answer["class_names"].numpy()[0].decode() in info["class_names"]

  # Nothing went to a local folder named after the scheme.
  assert not list(tmp_path.iterdir()), list(tmp_path.iterdir())


def shopworld_image(world_dir) -> bytes:
  """The bytes of the first item image the shop world wrote (a real client input)."""
  images = sorted(tf.io.gfile.glob(f"{world_dir}/images/*/*.png"))
  assert images, f"no item images under {world_dir}/images"
  with tf.io.gfile.GFile(images[0], "rb") as f:
    return f.read()
