"""Each ResNet depth builds with its published parameter count, and bf16 keeps a float32 head."""

import numpy as np
import pytest
import tensorflow as tf

from common.distribute import flops
from vision import models


def _trainable(model):
  return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


def test_resnet20_has_the_published_0_27m_parameters():
  # He et al. 2016, Table 6: 0.27M. Projection shortcuts (option B) where the paper
  # zero-pads (option A) add 16*32 + 32*64 + 2*(32+64) = 2752: 272,474 in all.
  model = models.ResNet20(models.ModelConfig(num_classes=10, image_size=32))
  assert _trainable(model) == 272_474


def test_resnet50_has_torchvisions_25_557_032_parameters():
  model = models.ResNet50(models.ModelConfig(num_classes=1000, image_size=64))
  assert _trainable(model) == 25_557_032


def test_resnet50_flops_are_the_published_4_1_gmacs():
  model = models.ResNet50(models.ModelConfig(num_classes=1000, image_size=224))
  # v1.5 at 224x224: 4.09 GMACs (NVIDIA's ResNet-50 v1.5 model card: "4.1 GFLOPs" counting MACs).
  assert flops.forward_flops(model) / 2e9 == pytest.approx(4.09, abs=0.05)


def test_mixed_bfloat16_keeps_logits_float32():
  tf.keras.mixed_precision.set_global_policy("mixed_bfloat16")
  try:
    model = models.ResNet20(models.ModelConfig(num_classes=3, image_size=16))
    assert model.get_layer("stage1_block1_conv1").compute_dtype == "bfloat16"
    logits = model(tf.random.uniform([2, 16, 16, 3], 0, 255), training=False)
  finally:
    tf.keras.mixed_precision.set_global_policy("float32")
  assert logits.dtype == tf.float32
  assert logits.shape == (2, 3)


def test_weight_decay_adds_one_l2_term_per_kernel():
  model = models.ResNet20(models.ModelConfig(num_classes=10, weight_decay=1e-4))
  kernels = [w for w in model.trainable_weights if "kernel" in w.name]
  assert len(model.losses) == len(kernels)  # 19 convs + 2 projections + the classifier
  # Each term is weight_decay / 2 * ||w||².
  first = model.get_layer("stem_conv").kernel
  expected = 0.5e-4 * float(tf.reduce_sum(tf.square(first)))
  assert float(model.losses[0]) == pytest.approx(expected, rel=1e-5)


def test_embedding_model_shares_weights_and_outputs_pooled_features():
  model = models.ResNet20(models.ModelConfig(num_classes=4, image_size=16))
  encoder = models.embedding_model(model)
  assert encoder.output.shape[-1] == 64  # the last CIFAR stage's width
  assert set(id(w) for w in encoder.weights) <= set(id(w) for w in model.weights)


def test_unknown_model_name_says_which_exist():
  with pytest.raises(ValueError, match=r"unknown model 'ResNet21'.*ResNet20"):
    models.create("ResNet21", models.ModelConfig(num_classes=10))


def test_single_class_is_rejected():
  with pytest.raises(ValueError, match="at least 2 classes"):
    models.ResNet20(models.ModelConfig(num_classes=1))
