"""The recommender on the TPU path: XLA-compiled steps, ids encoded on the host, mixed_bfloat16.

An XLA-compiled step (every step on a TPU) takes no strings and no lookup tables, so
`Recommender.encode_ids` turns the ids into ints in the input pipeline. Before it, the step failed
to compile (`variable.var()->is_initialized`: the id lookup table is a resource XLA took for an
uninitialised variable). These tests train the TPU config's model for two compiled steps on a tiny
shop world, and check that encoded ids embed exactly as the strings they came from.
"""

import math

import numpy as np
import pytest
import tensorflow as tf

from common.shopworld import world as shopworld
from recsys import input_pipeline, train
from recsys.configs import tpu


@pytest.fixture(scope="module")
def world(tmp_path_factory):
  path = tmp_path_factory.mktemp("world")
  shopworld.generate(seed=0, size="tiny").write(path, overwrite=True)
  return str(path)


def _config(world_dir):
  cfg = tpu.get_config()
  cfg.data.source = "shopworld"
  cfg.data.path = world_dir
  cfg.model.max_history = 4  # small, so the compiled GRU loop compiles fast
  cfg.model.hash_bins = 1000
  return cfg


@pytest.fixture
def policy():
  """Sets a global Keras dtype policy for one test and restores the previous one."""
  before = tf.keras.mixed_precision.global_policy()
  yield tf.keras.mixed_precision.set_global_policy
  tf.keras.mixed_precision.set_global_policy(before)


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
def test_two_xla_compiled_steps_train_with_a_finite_loss(world, policy, precision):
  policy(precision)
  cfg = _config(world)
  data = train._load(cfg, None)
  model = train.create_model(cfg, data)
  train.build(model, data)
  model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), jit_compile=True, steps_per_execution=2)
  ds = input_pipeline.to_dataset(data, data.train, 16, training=True, drop_remainder=True)
  before = [v.numpy().copy() for v in model.trainable_variables]
  history = model.fit(ds.map(model.encode_ids).take(2), epochs=1, verbose=0)
  loss = history.history["loss"][0]
  assert math.isfinite(loss) and loss > 0
  changed = sum(not np.array_equal(b, v.numpy()) for b, v in
                zip(before, model.trainable_variables, strict=True))
  assert changed > 0, "no variable moved in two steps"


def test_encoded_ids_embed_as_the_strings_they_came_from(world):
  cfg = _config(world)
  cfg.model.user_hash_bins = 100  # the user id is encoded too
  data = train._load(cfg, None)
  model = train.create_model(cfg, data)
  train.build(model, data)
  batch = next(iter(input_pipeline.to_dataset(data, data.test, 8, training=False)))
  # One id the training never saw and one padded history slot, besides the real ones.
  batch["item_id"] = tf.concat([batch["item_id"][:-1], ["never-seen"]], 0)
  assert (batch["history_ids"].numpy() == b"").any()
  encoded = model.encode_ids(batch)
  assert not any(v.dtype == tf.string for v in encoded.values())
  assert encoded["item_id"].numpy()[-1] == 0 and (encoded["history_ids"].numpy() == -1).any()
  np.testing.assert_allclose(model.query_tower(encoded).numpy(), model.query_tower(batch).numpy(),
                             rtol=1e-6, atol=1e-6)
  np.testing.assert_allclose(model.item_tower.id_view(encoded["item_id"]).numpy(),
                             model.item_tower.id_view(batch["item_id"]).numpy())
  assert not model.item_tower.id_view(encoded["item_id"]).numpy()[-1].any()  # unseen: no id view


def test_encoding_ids_for_a_model_with_a_text_tower_names_the_fix(world):
  cfg = _config(world)
  cfg.text_tower = True
  data = train._load(cfg, None)
  model = train.create_model(cfg, data)
  batch = next(iter(input_pipeline.to_dataset(data, data.test, 4, training=False)))
  with pytest.raises(ValueError, match=r"text and image towers read raw strings.*text_tower=False"):
    model.encode_ids(batch)
