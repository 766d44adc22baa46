"""The smallest recommender run a test can train: id only, one epoch, the tiny shop world.

Tests that need a finished run (re-evaluation, the served rating table) share this config, so
each trains the same seconds-long model and differs only in what it adds:

    cfg = tiny_run.id_only_config(tmp_path_factory)
    cfg.rating_blend.glocal_k_seeds = 1          # what this test is about
    result = train.train_and_evaluate(cfg, workdir)
"""

from __future__ import annotations

import ml_collections
import pytest

from common.shopworld import world as shopworld
from recsys.configs import default


def id_only_config(tmp_path_factory: pytest.TempPathFactory) -> ml_collections.ConfigDict:
  """recsys' default config on a freshly written tiny shop world, without content towers."""
  world = tmp_path_factory.mktemp("world")
  shopworld.generate(seed=0, size="tiny").write(world, overwrite=True)
  cfg = default.get_config()
  cfg.data.path = str(world)
  cfg.text_tower = cfg.image_tower = False
  cfg.epochs, cfg.batch_size, cfg.model.max_history, cfg.verbose = 1, 128, 4, 0
  cfg.model.category_weight = 0.0  # no content towers to predict the category from
  return cfg
