"""Every other ResNet depth builds with its published parameter count.

Slow (~40 s on 2 cores: it builds seven networks up to ResNet-101); ResNet-20 and
ResNet-50 are checked in the fast models_test.py.
"""

import numpy as np
import pytest

from vision import models


def _trainable(model):
  return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


# He et al. 2016, Table 6 (CIFAR-10): 0.27M, 0.46M, 0.66M, 0.85M, 1.7M. Ours use
# projection shortcuts (option B) where the paper zero-pads (option A), which adds
# two 1x1 convs + BN: 16*32 + 32*64 + 2*(32+64) = 2752 parameters.
@pytest.mark.parametrize("name,published_millions", [
    ("ResNet32", 0.46), ("ResNet44", 0.66), ("ResNet56", 0.85),
    ("ResNet110", 1.7)])
def test_cifar_family_parameter_counts(name, published_millions):
  model = models.create(name, models.ModelConfig(num_classes=10, image_size=32))
  # The paper rounds to two significant digits: allow 2%.
  assert _trainable(model) / 1e6 == pytest.approx(published_millions, rel=0.02)


# torchvision's published counts for the same v1.5 architectures with 1000 classes
# (torchvision.models docs: 11,689,512 / 21,797,672 / 25,557,032 / 44,549,160).
@pytest.mark.parametrize("name,published", [
    ("ResNet18", 11_689_512), ("ResNet34", 21_797_672),
    ("ResNet101", 44_549_160)])
def test_imagenet_family_parameter_counts_match_exactly(name, published):
  # Parameter counts do not depend on the input size; 64x64 builds faster.
  model = models.create(name, models.ModelConfig(num_classes=1000, image_size=64))
  assert _trainable(model) == published
