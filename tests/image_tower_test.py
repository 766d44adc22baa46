"""The recommender's image tower is the vision export's encoder, frozen.

With `cfg.vision_export` set, recsys builds its item image tower from the vision export
(`vision.encoder.load_encoder`) and does not train it. Then the recommender and the classifier
see an item picture the same way: the features the recsys export computes for a picture equal
the vision export's `embed` signature on the same bytes, and the ResNet weights inside the recsys
export are the vision weights, bit for bit (the BatchNorm statistics included).
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from common.export import publish
from tests import raw_inputs
from vision import encoder as vision_encoder

TOL = dict(rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def vision_embedding(vision, world_dir):
  """The classifier's image features: the vision export's `embed`, on raw PNG bytes."""
  blobs = raw_inputs.image_bytes(world_dir)
  embed = publish.load(str(vision.export_dir)).signatures["embed"]
  return blobs, embed(image_bytes=tf.constant(blobs))["embedding"].numpy()


def _tower_in_export(recsys_export_dir, vision_model_dir) -> vision_encoder.ImageEncoder:
  """The recsys export's image tower, restored into a copy of the vision architecture.

  The copy starts from zeroed weights, so every value it ends with was read from the recsys
  export; `assert_existing_objects_matched` fails if the tower is not that architecture.
  """
  tower = vision_encoder.load_encoder(vision_model_dir)
  for weight in tower.weights:
    weight.assign(tf.zeros_like(weight))
  # The export's object graph: RecommenderModule.model.item_tower.image_encoder (recsys/export.py).
  checkpoint = tf.train.Checkpoint(model=tf.train.Checkpoint(
      item_tower=tf.train.Checkpoint(image_encoder=tower)))
  status = checkpoint.read(str(recsys_export_dir / "variables" / "variables"))
  status.expect_partial().assert_existing_objects_matched()
  return tower


def test_trained_recommender_kept_the_vision_encoder_frozen(recsys, vision_embedding):
  blobs, expected = vision_embedding
  tower = recsys.keras.item_tower.image_encoder
  assert not tower.trainable
  assert not tower.trainable_weights
  np.testing.assert_allclose(tower(tf.constant(blobs), training=False).numpy(), expected, **TOL)


def test_recsys_export_image_features_equal_the_vision_export(recsys, vision, vision_embedding):
  blobs, expected = vision_embedding
  tower = _tower_in_export(recsys.export_dir, vision.model_dir)
  np.testing.assert_allclose(tower(tf.constant(blobs)).numpy(), expected, **TOL)
  original = vision_encoder.load_encoder(vision.model_dir)
  assert len(tower.weights) == len(original.weights) > 0
  for exported, trained in zip(tower.weights, original.weights, strict=True):
    np.testing.assert_array_equal(exported.numpy(), trained.numpy(), err_msg=exported.name)


def test_recsys_export_item_embedding_uses_the_picture(recsys, world_dir):
  """The served candidate tower reads the image: same item id and text, other picture, other vector."""
  blobs = raw_inputs.image_bytes(world_dir, n=2)
  candidate = publish.load(str(recsys.export_dir)).signatures["candidate_embedding"]
  item = tf.constant(["item_00000", "item_00000"])
  words = tf.constant(raw_inputs.texts(world_dir, n=1)[:1] * 2)
  out = candidate(item_id=item, text=words, image=tf.constant(blobs[:2]))["embedding"].numpy()
  assert out.shape[0] == 2
  assert not np.allclose(out[0], out[1])
  same = candidate(item_id=item, text=words, image=tf.constant(blobs[:1] * 2))["embedding"].numpy()
  np.testing.assert_allclose(same[0], same[1], **TOL)
