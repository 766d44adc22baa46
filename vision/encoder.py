"""The image encoder other domains build on (recsys uses it as its item image tower).

    from vision import encoder as image_encoder
    tower = image_encoder.load_encoder("/exports/vision_resnet20")   # pretrained, frozen
    tower = image_encoder.build_encoder("ResNet20", image_size=32)   # fresh, trainable
    embeddings = tower(tf.constant([png_bytes, jpeg_bytes]))          # [2, 64], L2-normalised

`ImageEncoder` is a Keras layer from a 1-D batch of encoded JPEG/PNG bytes to the
ResNet's pooled features, decoded exactly as the vision export decodes them
(`vision.preprocessing`), so a model that contains it still takes raw bytes and its
own export needs no image preprocessing outside the graph.

`load_encoder` rebuilds the network named in a vision export's `model_info.json` and
restores the export's variables into it (a fresh Keras copy, not the SavedModel
function): the result can be fine-tuned (`trainable=True`) and re-saved inside
another model without nesting SavedModels.
"""

import json
import os

import tensorflow as tf

from common.export import versions
from vision import models, preprocessing

MODEL_INFO = "model_info.json"


class ImageEncoder(tf.keras.layers.Layer):
  """Encoded image bytes [B] → embedding [B, D] (float32, optionally L2-normalised)."""

  def __init__(self, backbone: tf.keras.Model, *, crop_fraction: float = 1.0,
               l2_normalize: bool = True, max_pixels: int = preprocessing.DEFAULT_MAX_PIXELS,
               **kwargs):
    super().__init__(**kwargs)
    self.backbone = backbone
    self.image_size = int(backbone.input.shape[1])
    self.embedding_dim = int(backbone.output.shape[-1])
    self.crop_fraction = crop_fraction
    self.l2_normalize = l2_normalize
    self.max_pixels = max_pixels

  def call(self, image_bytes, training=None):
    images = preprocessing.decode_batch(tf.reshape(image_bytes, [-1]), self.image_size,
                                        self.crop_fraction, self.max_pixels)
    features = tf.cast(self.backbone(images, training=training), tf.float32)
    return tf.math.l2_normalize(features, axis=-1) if self.l2_normalize else features


def build_encoder(model: str = "ResNet20", *, image_size: int = 32, mean=models.IMAGENET_MEAN,
                  std=models.IMAGENET_STD, weight_decay: float = 0.0, l2_normalize: bool = True,
                  name: str = "image_encoder") -> ImageEncoder:
  """A freshly initialised, trainable encoder (the classifier head is dropped)."""
  # The classifier's class count does not matter: only the layers up to the pooling are kept.
  classifier = models.create(model, models.ModelConfig(
      num_classes=2, image_size=image_size, weight_decay=weight_decay, mean=tuple(mean),
      std=tuple(std)))
  return ImageEncoder(models.embedding_model(classifier), l2_normalize=l2_normalize, name=name)


def load_encoder(export_dir: str | os.PathLike, *, trainable: bool = False,
                 l2_normalize: bool = True, name: str = "image_encoder") -> ImageEncoder:
  """The encoder of a vision export (a model directory → its newest version, or a version dir).

  Raises:
    FileNotFoundError: the directory is not a vision export (no assets/model_info.json).
  """
  version_dir = versions.resolve(export_dir)
  info_path = os.path.join(version_dir, "assets", MODEL_INFO)
  if not tf.io.gfile.exists(info_path):
    raise FileNotFoundError(
        f"{version_dir} is not a vision export: it has no assets/{MODEL_INFO}. Export a vision "
        "run with `bazel run //vision:export -- --workdir=... --export_root=...` and pass "
        "<export_root>/<model_name>")
  with tf.io.gfile.GFile(info_path) as f:
    info = json.load(f)
  classifier = models.create(info["model"], models.ModelConfig(
      num_classes=len(info["class_names"]), image_size=info["image_size"],
      mean=tuple(info["mean"]), std=tuple(info["std"])))
  # The export's root module holds the network as `.model` (export.ImageClassifier), so the
  # checkpoint's object graph maps onto a fresh copy of the same architecture.
  status = tf.train.Checkpoint(model=classifier).read(
      os.path.join(version_dir, "variables", "variables"))
  status.expect_partial().assert_existing_objects_matched()
  backbone = models.embedding_model(classifier)
  backbone.trainable = trainable
  return ImageEncoder(backbone, crop_fraction=info.get("crop_fraction", 1.0), l2_normalize=l2_normalize, name=name)
