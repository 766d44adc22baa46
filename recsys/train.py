"""Training and evaluation of the recommender (same shape as every trellis trainer).

    create_model        towers (with the text/image encoders the config asks for) and heads
    candidate_table     embeds the whole catalogue with the candidate tower
    score_fn            full-catalogue scores for evaluation
    evaluate_model      Recall/NDCG/MRR per slice and RMSE, beside the baselines
    train_and_evaluate  the loop: data, model, fit, evaluation, saved results
"""

from __future__ import annotations

import json
import os
import pathlib
import time

import ml_collections
import numpy as np
import tensorflow as tf

from common import config as config_lib
from common.distribute import strategy as strategy_lib
from common.training import fit as fit_lib
from common.training import seeds
from recsys import baselines, evaluation, input_pipeline, models
from recsys import encoders as encoders_lib
from recsys.features import Examples

FINAL_WEIGHTS = "final_weights/weights"  # TF checkpoint prefix


def create_model(config: ml_collections.ConfigDict, data: input_pipeline.Data) -> models.Recommender:
  model_config = config_lib.to_dataclass(config.model, models.ModelConfig)
  text_encoder = encoders_lib.text_encoder(data.catalog.text) if config.text_tower else None
  image_encoder = (encoders_lib.image_encoder(config.vision_export, config.train_image_encoder)
                   if (config.image_tower and data.images) else None)
  ratings = data.train.rating
  rating_range = (float(ratings.min()), float(ratings.max())) if ratings is not None and len(ratings) else (1.0, 5.0)
  return models.Recommender(model_config, known_items=sorted(data.train_counts),
                            text_encoder=text_encoder, image_encoder=image_encoder,
                            rating_range=rating_range, categories=sorted(set(data.catalog.category)))


def build(model: models.Recommender, data: input_pipeline.Data) -> None:
  """Creates every variable by running one small batch through the loss.

  Keras creates a subclassed model's variables lazily; BackupAndRestore and
  `load_weights` both need them to exist first.
  """
  model.compute_loss(next(iter(input_pipeline.to_dataset(data, data.train, 2, training=False))))


def candidate_table(model: models.Recommender, data: input_pipeline.Data,
                    batch_size: int = 512) -> np.ndarray:
  """[num_items, dim] candidate embeddings of the whole catalogue, in catalogue order."""
  content = input_pipeline.item_content(data, data.catalog.item_id)
  feats = {"item_id": data.catalog.item_id.astype(str), **content}
  ds = tf.data.Dataset.from_tensor_slices(feats).batch(batch_size)
  return np.concatenate([model.item_tower(b, training=False).numpy() for b in ds])


def query_embeddings(model: models.Recommender, examples: Examples, batch_size: int = 512) -> np.ndarray:
  feats = examples.as_dict()
  feats.pop("rating", None)
  ds = tf.data.Dataset.from_tensor_slices(feats).batch(batch_size)
  return np.concatenate([model.query_tower(b, training=False).numpy() for b in ds])


def score_fn(model: models.Recommender, table: np.ndarray):
  def scores(batch: Examples) -> np.ndarray:
    return query_embeddings(model, batch) @ table.T
  return scores


def predict_ratings(model: models.Recommender, data: input_pipeline.Data, examples: Examples,
                    batch_size: int = 512) -> np.ndarray:
  ds = input_pipeline.to_dataset(data, examples, batch_size, training=False)
  out = []
  for b in ds:
    q = model.query_tower(b, training=False)
    c = model.item_tower(model.candidate_inputs(b), training=False)
    out.append(model.predict_rating(q, c).numpy())
  return np.concatenate(out)


def evaluate_model(model, data: input_pipeline.Data, examples: Examples, k: int,
                   with_baselines: bool = True) -> dict:
  """Retrieval metrics per slice (and RMSE/MAE when there are ratings), beside the baselines."""
  history_len = np.array([len(data.seen.get(u, ())) for u in examples.user_id])
  results = {}
  if model.config.retrieval_weight > 0:
    table = candidate_table(model, data)
    results["model"] = evaluation.evaluate(score_fn(model, table), examples, data.catalog.item_id,
                                           data.train_counts, data.seen, history_len, k=k)
  if with_baselines:
    pop = baselines.MostPopular(data.catalog.item_id).fit(data.train_events)
    results["most_popular"] = evaluation.evaluate(pop.score, examples, data.catalog.item_id,
                                                  data.train_counts, data.seen, history_len, k=k)
    cooc = baselines.ItemCooccurrence(data.catalog.item_id).fit(data.train_events)
    results["item_cooccurrence"] = evaluation.evaluate(cooc.score, examples, data.catalog.item_id,
                                                       data.train_counts, data.seen, history_len, k=k)
  if examples.rating is not None and model.config.rating_weight > 0:
    pred = predict_ratings(model, data, examples)
    err = pred - examples.rating
    results.setdefault("model", {})["rating"] = {
        "rmse": float(np.sqrt(np.mean(err ** 2))), "mae": float(np.mean(np.abs(err)))}
  return results


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str, data_dir: str | None = None,
                       world_dir: str | None = None) -> dict:
  """Trains the recommender in `config`, evaluates it on the test split, writes results.json."""
  workdir = os.fspath(workdir)  # may be gs://: tf.io.gfile below, never pathlib
  tf.io.gfile.makedirs(workdir)
  config_lib.save(config, workdir)
  seeds.set_all(config.seed)
  data = input_pipeline.load(config.dataset, config.protocol, config.model.max_history,
                             data_dir=data_dir, world_dir=world_dir)
  print(f"{config.dataset}/{config.protocol}: {len(data.catalog)} items, "
        f"{len(data.train)} train / {len(data.validation)} validation / {len(data.test)} test examples")

  strategy = strategy_lib.create(config.distribution)
  with strategy.scope():
    model = create_model(config, data)
    build(model, data)
    model.compile(optimizer=tf.keras.optimizers.Adam(config.learning_rate),
                  steps_per_execution=strategy_lib.steps_per_execution(config.distribution),
                  jit_compile=strategy_lib.jit_compile(config.distribution))
  # Each worker (multi-worker, Horovod rank, TPU host) reads its own shard of the examples.
  train_ds = strategy_lib.distribute(
      strategy, lambda ctx: input_pipeline.to_dataset(data, data.train, config.batch_size,
                                                      training=True, seed=config.seed,
                                                      drop_remainder=True, input_context=ctx),
      config.batch_size)
  val_ds = (input_pipeline.to_dataset(data, data.validation, config.batch_size, training=False)
            if len(data.validation) else None)
  start = time.time()
  history = fit_lib.fit(model, train_ds, epochs=config.epochs, workdir=workdir,
                        validation_data=val_ds,
                        early_stopping_patience=(config.early_stopping_patience
                                                 if val_ds is not None else None),
                        monitor=config.early_stopping_monitor,
                        verbose=config.verbose)
  train_seconds = time.time() - start
  if strategy_lib.is_chief():
    model.save_weights(os.path.join(workdir, FINAL_WEIGHTS))
  results = evaluate_model(model, data, data.test, k=config.eval_k)
  results["train_seconds"] = train_seconds
  results["epochs_run"] = len(history.history.get("loss", []))
  if strategy_lib.is_chief():  # one writer: workers share the workdir
    with tf.io.gfile.GFile(os.path.join(workdir, "results.json"), "w") as f:
      f.write(json.dumps(results, indent=2))
  return {"model": model, "data": data, "results": results}


def restore(config: ml_collections.ConfigDict, workdir: str | pathlib.Path, data_dir: str | None = None,
            world_dir: str | None = None) -> dict:
  """The model and data of a finished run (its final weights), without training."""
  data = input_pipeline.load(config.dataset, config.protocol, config.model.max_history,
                             data_dir=data_dir, world_dir=world_dir)
  model = create_model(config, data)
  build(model, data)
  model.load_weights(os.path.join(os.fspath(workdir), FINAL_WEIGHTS))
  with tf.io.gfile.GFile(os.path.join(os.fspath(workdir), "results.json")) as f:
    results = json.loads(f.read())
  return {"model": model, "data": data, "results": results}
