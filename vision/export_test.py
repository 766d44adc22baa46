"""The export: `classify` on raw bytes equals the in-process prediction, `embed` is L2-normalised,
bad bytes are refused with a clear error, and the encoder recsys loads matches `embed`."""

import io
import struct
import zlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from common import config as config_lib
from common.export import metadata, publish
from common.shopworld import world as shopworld
from vision import encoder, export, preprocessing, train
from vision.data import shopworld as shopworld_source


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
  world_dir = tmp_path_factory.mktemp("world")
  shopworld.generate(seed=0, size="tiny").write(world_dir)
  workdir = str(tmp_path_factory.mktemp("run"))
  # Two training steps: enough for real, non-initial weights and BN statistics.
  cfg = config_lib.resolve(config_lib.load("vision/configs/default.py", [
      f"data.path={world_dir}", "epochs=1", "steps_per_epoch=2", "batch_size=16"]),
      print_fn=lambda _: None)
  train.train_and_evaluate(cfg, workdir)
  export_dir = export.export(workdir, str(tmp_path_factory.mktemp("exports")))
  data = shopworld_source.read(world_dir)
  images = [e for e, _ in data.test.take(6).as_numpy_iterator()]
  return workdir, export_dir, publish.load(export_dir), images


def _jpeg(size):
  buf = io.BytesIO()
  Image.fromarray(np.random.default_rng(1).integers(0, 256, (*size, 3), np.uint8)).save(buf, "JPEG")
  return buf.getvalue()


def test_classify_on_raw_bytes_equals_in_process_prediction(exported):
  workdir, _, loaded, images = exported
  # Mixed formats and sizes in one batch: the shop world's PNGs and a 300x200 JPEG.
  batch = [*images, _jpeg((300, 200))]
  out = loaded.signatures["classify"](image_bytes=tf.constant(batch))
  _, info, model = train.load_run(workdir)
  pixels = preprocessing.decode_batch(tf.constant(batch), info["image_size"])
  expected = tf.nn.softmax(model(pixels, training=False)).numpy()
  np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-5)
  np.testing.assert_array_equal(out["class_ids"].numpy(), expected.argmax(-1))
  names = [n.decode() for n in out["class_names"].numpy()]
  assert names == [info["class_names"][i] for i in expected.argmax(-1)]


def test_embed_is_l2_normalised_and_the_recsys_encoder_matches_it(exported):
  _, export_dir, loaded, images = exported
  embedding = loaded.signatures["embed"](image_bytes=tf.constant(images))["embedding"].numpy()
  assert embedding.shape == (len(images), 64)
  np.testing.assert_allclose(np.linalg.norm(embedding, axis=1), 1.0, atol=1e-5)
  tower = encoder.load_encoder(export_dir.rsplit("/", 1)[0])  # model dir → newest version
  np.testing.assert_allclose(tower(tf.constant(images)).numpy(), embedding, atol=1e-5)
  assert not tower.trainable_weights  # frozen by default


def test_metadata_records_signatures_labels_and_baseline(exported):
  _, export_dir, _, _ = exported
  meta = metadata.read(export_dir)
  assert {"classify", "embed", "serving_default"} <= set(meta["signatures"])
  assert meta["domain"] == "vision"
  assert "majority class" in meta["baseline_metrics"]["baseline"]
  with open(f"{export_dir}/assets/labels.txt") as f:
    assert len(f.read().split()) == 10


def _png_header(width, height):
  ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
  return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr
          + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)))


@pytest.mark.parametrize("payload,message", [
    (b"", "image bytes are empty"),
    (b"<html>404 Not Found</html>", "not JPEG or PNG"),
    (_png_header(60_000, 60_000), "too large to decode safely"),
])
def test_exported_model_refuses_bad_bytes_with_a_clear_error(exported, payload, message):
  _, _, loaded, images = exported
  for signature in ("classify", "embed"):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
      loaded.signatures[signature](image_bytes=tf.constant([images[0], payload]))


def test_encoder_load_errors_name_the_fix(tmp_path):
  with pytest.raises((FileNotFoundError, ValueError)):
    encoder.load_encoder(tmp_path)


def test_fresh_encoder_is_trainable_on_bytes():
  tower = encoder.build_encoder("ResNet20", image_size=16)
  png = tf.io.encode_png(tf.zeros([5, 7, 3], tf.uint8))
  with tf.GradientTape() as tape:
    out = tower(tf.stack([png, png]), training=True)
    loss = tf.reduce_sum(out[:, 0])
  grads = tape.gradient(loss, tower.trainable_weights)
  assert out.shape == (2, 64) and all(g is not None for g in grads)
