"""Training and evaluation of the recommender (the same shape as every trellis trainer).

    create_model        towers (with the text/image encoders the config asks for) and heads
    candidate_table     embeds the whole catalogue with the candidate tower
    score_fn            full-catalogue scores for evaluation
    fit_baselines       the baselines every evaluation reports beside the model
    evaluate_model      Recall/NDCG/MRR per slice and RMSE, beside the baselines
    train_and_evaluate  the loop: data, model, fit, evaluation, result.json (and, with
                        config.rating_blend.glocal_k_seeds > 0, the served rating table that
                        the export's `rank` reads: recsys/rating/served.py)
    restore             the model and result of a finished run, without training

    result = train.train_and_evaluate(config, workdir, data_dir)
    result.metrics["test"]["model"]["overall"]["recall@10"], result.metrics["test"]["baseline"]

The baseline a run is judged against (`result.baseline`, `metrics[split]["baseline"]`) is item
co-occurrence, the stronger of the two; time-decayed popularity is reported beside it as
`metrics[split]["most_popular"]`.
"""

from __future__ import annotations

import os
import time

import ml_collections
import numpy as np
import tensorflow as tf

from common import config as config_lib
from common.distribute import strategy as strategy_lib
from common.training import fit as fit_lib
from common.training import result as result_lib
from common.training import seeds
from recsys import baselines, input_pipeline, metrics, models
from recsys import encoders as encoders_lib
from recsys.features import Examples
from recsys.rating import served as served_lib

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


def fit_baselines(data: input_pipeline.Data) -> dict:
  """The baselines, fitted on the training events: {"baseline": item co-occurrence, "most_popular": ...}."""
  return {"baseline": baselines.ItemCooccurrence(data.catalog.item_id).fit(data.train_events),
          "most_popular": baselines.MostPopular(data.catalog.item_id).fit(data.train_events)}


def evaluate_model(model: models.Recommender, data: input_pipeline.Data, examples: Examples, k: int,
                   fitted_baselines: dict | None = None, table: np.ndarray | None = None) -> dict:
  """Retrieval metrics per slice (and RMSE/MAE when there are ratings), beside the baselines.

  Returns {"model": {...}, "baseline": {...}, "most_popular": {...}} (the baselines' entries only
  with `fitted_baselines`, from `fit_baselines`). `table` (from `candidate_table`) saves
  re-embedding the catalogue when several splits are evaluated.
  """
  history_len = np.array([len(data.seen.get(u, ())) for u in examples.user_id])
  results = {}
  if model.config.retrieval_weight > 0:
    table = candidate_table(model, data) if table is None else table
    results["model"] = metrics.evaluate(score_fn(model, table), examples, data.catalog.item_id,
                                        data.train_counts, data.seen, history_len, k=k)
  for name, baseline in (fitted_baselines or {}).items():
    results[name] = metrics.evaluate(baseline.score, examples, data.catalog.item_id,
                                     data.train_counts, data.seen, history_len, k=k)
  if examples.rating is not None and model.config.rating_weight > 0:
    pred = predict_ratings(model, data, examples)
    err = pred - examples.rating
    results.setdefault("model", {})["rating"] = {
        "rmse": float(np.sqrt(np.mean(err ** 2))), "mae": float(np.mean(np.abs(err)))}
  return results


def _evaluate_splits(model: models.Recommender, data: input_pipeline.Data, k: int,
                     fitted_baselines: dict) -> dict:
  """metrics[split] for validation (when it has examples) and test, the catalogue embedded once."""
  table = candidate_table(model, data) if model.config.retrieval_weight > 0 else None
  splits = {"validation": data.validation, "test": data.test}
  return {split: evaluate_model(model, data, examples, k, fitted_baselines, table)
          for split, examples in splits.items() if len(examples)}


def _summary_line(result: result_lib.TrainResult, k: int) -> str:
  """e.g. "6 epochs in 581 s; test Recall@10: model 0.2333, item co-occurrence (baseline) 0.1315, ..."."""
  test = result.metrics["test"]
  names = {"model": "model", "baseline": "item co-occurrence (baseline)", "most_popular": "most popular"}
  recalls = [f"{label} {test[name]['overall'][f'recall@{k}']:.4f}"
             for name, label in names.items() if "overall" in test.get(name, {})]
  line = (f"{result.epochs} epoch{'s' if result.epochs != 1 else ''} in {result.train_seconds:.0f} s; "
          f"test Recall@{k}: " + ", ".join(recalls))
  if "rating" in test.get("model", {}):
    line += f"; model RMSE {test['model']['rating']['rmse']:.4f}"
  return line


def train_and_evaluate(config, workdir: str, data_dir: str | None = None) -> result_lib.TrainResult:
  """Trains the recommender in `config`, evaluates it on validation and test, writes result.json.

  Args:
    config: a recsys config (`recsys/configs/`); `config.data` names the data.
    workdir: checkpoints, logs, final weights and result.json (local or gs://).
    data_dir: the real datasets' folder (for data.source=movielens); None = the default.
  """
  workdir = os.fspath(workdir)  # may be gs://: tf.io.gfile below, never pathlib
  tf.io.gfile.makedirs(workdir)
  config_lib.save(config, workdir)
  seeds.set_all(config.seed)
  data = _load(config, data_dir)
  print(f"{config.data.source}/{config.data.protocol}: {len(data.catalog)} items, "
        f"{len(data.train)} train / {len(data.validation)} validation / {len(data.test)} test examples")
  served_lib.check_config(config, data.train_events.rating is not None)

  strategy = strategy_lib.create(config.distribution)
  with strategy.scope():
    model = create_model(config, data)
    build(model, data)
    model.compile(optimizer=tf.keras.optimizers.Adam(config.learning_rate),
                  steps_per_execution=strategy_lib.steps_per_execution(config.distribution),
                  jit_compile=strategy_lib.jit_compile(config.distribution))
  # An XLA-compiled step (a TPU's) takes no strings: the id lookups run here, on the host.
  xla = strategy_lib.jit_compile(config.distribution)
  host_side = (lambda ds: ds.map(model.encode_ids, num_parallel_calls=tf.data.AUTOTUNE)) if xla \
      else (lambda ds: ds)
  # Each worker (multi-worker, Horovod rank, TPU host) reads its own shard of the examples.
  train_ds = strategy_lib.distribute(
      strategy, lambda ctx: host_side(input_pipeline.to_dataset(
          data, data.train, config.batch_size, training=True, seed=config.seed,
          drop_remainder=True, input_context=ctx)),
      config.batch_size)
  val_ds = (host_side(input_pipeline.to_dataset(data, data.validation, config.batch_size,
                                                training=False))
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
  fitted = fit_baselines(data)
  result = result_lib.TrainResult(
      model=model, baseline=fitted["baseline"], data=data,
      metrics=_evaluate_splits(model, data, config.eval_k, fitted),
      data_fingerprint=data.fingerprint, epochs=len(history.history.get("loss", [])),
      train_seconds=train_seconds, config=config, extras={"most_popular": fitted["most_popular"]})
  if config.rating_blend.glocal_k_seeds:  # the rating model `rank` serves (recsys/rating/served.py)
    served = served_lib.fit_run(config, data.train_events, data.validation, data.catalog.item_id, workdir)
    result.extras["served_ratings"] = served
    result.metrics.setdefault("validation", {})["rating_blend"] = served.validation_rmse
    result.metrics["test"]["served"] = {"rating": served_lib.rating_metrics(
        served, data.test, predict_ratings(model, data, data.test))}
  if strategy_lib.is_chief():  # one writer: workers share the workdir
    result.write(workdir)
  print(_summary_line(result, config.eval_k))
  return result


def restore(config: ml_collections.ConfigDict, workdir: str,
            data_dir: str | None = None) -> result_lib.TrainResult:
  """The model, data, baselines and recorded metrics of a finished run (its final weights).

  Raises:
    FileNotFoundError: the run has not finished (no result.json).
    ValueError: the data read now is not the data the run trained on.
  """
  workdir = os.fspath(workdir)
  summary = result_lib.read_summary(workdir)
  data = _load(config, data_dir)
  if data.fingerprint != summary["data_fingerprint"]:
    raise ValueError(f"the run in {workdir} trained on data {summary['data_fingerprint']}, but "
                     f"{config.data.source} now reads as {data.fingerprint}; point --data_dir (or "
                     "data.path in the run's config.json) at the data it trained on")
  model = create_model(config, data)
  build(model, data)
  model.load_weights(os.path.join(workdir, FINAL_WEIGHTS))
  fitted = fit_baselines(data)
  extras = {"most_popular": fitted["most_popular"]}
  if config.get("rating_blend") and config.rating_blend.glocal_k_seeds:
    extras["served_ratings"] = served_lib.load(workdir)
  return result_lib.TrainResult(
      model=model, baseline=fitted["baseline"], data=data, metrics=summary["metrics"],
      data_fingerprint=data.fingerprint, epochs=summary["epochs"],
      train_seconds=summary["train_seconds"], config=config, extras=extras)


def _load(config: ml_collections.ConfigDict, data_dir: str | None) -> input_pipeline.Data:
  return input_pipeline.load(config.data.source, config.data.protocol, config.model.max_history,
                             data_dir=data_dir, path=config.data.path)
