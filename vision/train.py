"""Training and evaluation of a ResNet classifier, as plain functions (flax examples style).

    create_model(config, num_classes, mean, std)   → the Keras ResNet (float32 logits)
    create_optimizer(config, steps_per_epoch)      → SGD + Nesterov, linear-scaled LR, warm-up, cosine
    channel_statistics(ds, image_size)             → per-channel mean/std for in-model normalisation
    compute_metrics(labels, predicted, ...)        → the model beside the majority-class baseline
    train_and_evaluate(config, workdir, data_dir)  → trains, scores validation and test, writes the
                                                     run, returns a common.training.result.TrainResult

A run directory holds everything `evaluate` and `export` need:

    <workdir>/config.json, config.txt   the resolved config (common.config.save)
    <workdir>/model_info.json           class names, normalisation statistics, data fingerprint
    <workdir>/final/weights.*           the trained weights (TF checkpoint)
    <workdir>/result.json               validation and test metrics beside the majority baseline,
                                        fingerprint, epochs, timing (TrainResult.summary())
    <workdir>/checkpoints/, backup/, tensorboard/, train_log.csv   from common.training.fit

The workdir may be on any file system TensorFlow knows (`gs://bucket/runs/resnet50`, `ram://`):
every file of the run goes through tf.io.gfile or TensorFlow's own savers.

Evaluation is exact: the validation split (after every epoch) and the test split are scored on
static-shape batches whose last one is padded with weight-0 rows, so every example counts exactly
once and none is dropped for the TPU's static shapes (`input_pipeline.create_split(exact=True)`;
the accuracy is a weighted metric; the validation loss divides the last batch by its padded size).
Every input pipeline runs the same ceil(validation examples / global batch) steps, padding its
share up to them, so the workers of a multi-worker strategy pair their collectives step for step;
each worker then scores the whole test split itself, on the same batches as the others (reading
the batch-norm statistics is a collective under MultiWorkerMirrored; `_save_final_weights`).
Under a multi-host strategy, TFRecord splits are sharded by file, each host reading its own
files (`common.data.sharding`).
"""

import dataclasses
import json
import math
import os
import time

import numpy as np
import tensorflow as tf

from common import config as config_lib
from common.data import tfrecord
from common.distribute import strategy as strategy_lib
from common.metrics import classification
from common.training import fit as fit_lib
from common.training import result as result_lib
from common.training import seeds
from vision import data as data_lib
from vision import input_pipeline, models, preprocessing

MODEL_INFO = "model_info.json"
FINAL_WEIGHTS = os.path.join("final", "weights")


def model_config(config, num_classes: int, mean, std) -> models.ModelConfig:
  """The typed model boundary: the network never sees the config system."""
  fields = dict(config.resnet.to_dict(), num_classes=num_classes, mean=tuple(mean), std=tuple(std))
  return config_lib.to_dataclass(fields, models.ModelConfig, path="resnet")


def create_model(config, num_classes: int, mean, std) -> tf.keras.Model:
  return models.create(config.model, model_config(config, num_classes, mean, std))


def learning_rate_schedule(config, steps_per_epoch: int):
  """Linear warm-up to `learning_rate x batch/256`, then cosine (or step) decay over the run."""
  peak = config.learning_rate * config.batch_size / 256
  total = config.epochs * steps_per_epoch
  warmup = round(config.optimizer.warmup_epochs * steps_per_epoch)
  if config.optimizer.schedule == "cosine":
    decay = tf.keras.optimizers.schedules.CosineDecay(peak, max(1, total - warmup))
  elif config.optimizer.schedule == "step":
    bounds = [int(f * total) - warmup for f in (0.3, 0.6, 0.8)]
    decay = tf.keras.optimizers.schedules.PiecewiseConstantDecay(
        bounds, [peak, peak * 0.1, peak * 0.01, peak * 0.001])
  else:
    raise ValueError(f"optimizer.schedule={config.optimizer.schedule!r}: use 'cosine' or 'step'")
  return WarmUp(peak, warmup, decay)


class WarmUp(tf.keras.optimizers.schedules.LearningRateSchedule):
  """Linear warm-up from 0 to `peak` over `warmup_steps`, then `decay(step - warmup_steps)`.

  Large batches need it: the first steps of a freshly initialised ResNet at lr 1.6
  otherwise diverge (Goyal et al. 2017, sec. 2.2).
  """

  def __init__(self, peak, warmup_steps, decay):
    super().__init__()
    self.peak, self.warmup_steps, self.decay = peak, warmup_steps, decay

  def __call__(self, step):
    step = tf.cast(step, tf.float32)
    warm = self.peak * step / max(1, self.warmup_steps)
    return tf.where(step < self.warmup_steps, warm, self.decay(step - self.warmup_steps))

  def get_config(self):
    return {"peak": self.peak, "warmup_steps": self.warmup_steps,
            "decay": tf.keras.optimizers.schedules.serialize(self.decay)}


def create_optimizer(config, steps_per_epoch: int) -> tf.keras.optimizers.Optimizer:
  return tf.keras.optimizers.SGD(learning_rate_schedule(config, steps_per_epoch),
                                 momentum=config.optimizer.momentum, nesterov=True)


def channel_statistics(ds: tf.data.Dataset, image_size: int, max_images: int = 2048):
  """Per-channel mean and std of decoded training images (what the model subtracts/divides)."""
  images = ds.take(max_images).map(
      lambda e, y: preprocessing.decode_and_resize(e, image_size),
      num_parallel_calls=tf.data.AUTOTUNE).batch(256)
  total, total_sq, count = np.zeros(3), np.zeros(3), 0
  for batch in images.as_numpy_iterator():
    pixels = batch.reshape(-1, 3).astype(np.float64)
    total += pixels.sum(0)
    total_sq += (pixels**2).sum(0)
    count += len(pixels)
  if not count:
    raise ValueError("the training split is empty: check the data source and split fractions")
  mean = total / count
  std = np.sqrt(np.maximum(total_sq / count - mean**2, 1e-6))
  # A constant channel (e.g. grayscale replicated) must not divide by ~0.
  return mean.tolist(), np.maximum(std, 1.0).tolist()


def compile_model(model, config, steps_per_epoch):
  model.compile(
      optimizer=create_optimizer(config, steps_per_epoch),
      loss=tf.keras.losses.CategoricalCrossentropy(from_logits=True,
                                                   label_smoothing=config.label_smoothing),
      # Weighted: evaluation batches carry weight 0 on their padding rows (exact evaluation).
      weighted_metrics=[tf.keras.metrics.CategoricalAccuracy(name="accuracy")],
      steps_per_execution=strategy_lib.steps_per_execution(config.distribution),
      jit_compile=strategy_lib.jit_compile(config.distribution))


def predict_labels(model, ds, config, image_size, batch_size=256):
  """(true labels, predicted class ids, probabilities) over an unbatched split, every example once.

  Batches have one static shape (the last is padded); the padding rows are dropped by weight.
  """
  batches = input_pipeline.create_split(ds, config.data, image_size=image_size,
                                        batch_size=batch_size, training=False, exact=True)
  predict = tf.function(lambda x: tf.nn.softmax(model(x, training=False)))
  labels, probs = [], []
  for images, y, weights in batches:
    real = weights.numpy() > 0
    labels.append(y.numpy()[real])
    probs.append(predict(images).numpy()[real])
  probs = np.concatenate(probs) if probs else np.zeros([0, model.output.shape[-1]])
  labels = np.concatenate(labels) if labels else np.zeros([0], np.int64)
  return labels, probs.argmax(-1), probs


@dataclasses.dataclass(frozen=True)
class MajorityClass:
  """The baseline: always answer the training split's most frequent class."""

  class_id: int
  class_name: str

  def predict(self, num_examples: int) -> np.ndarray:
    return np.full([num_examples], self.class_id, np.int64)


def compute_metrics(labels, predicted, num_classes: int, majority_class: int) -> dict:
  """The model's and the majority baseline's accuracy and macro P/R/F1, per class, confusion.

  Returns:
    {"examples", "model": {...}, "baseline": {...}, "per_class": {precision, recall, f1,
    support: one value per class}, "confusion_matrix": rows = true class, columns = predicted}.
  """
  baseline = np.full_like(labels, majority_class)
  model_prf = classification.precision_recall_f1(labels, predicted, num_classes)
  base_prf = classification.precision_recall_f1(labels, baseline, num_classes)
  macro = ("macro_precision", "macro_recall", "macro_f1")
  return {
      "examples": len(labels),
      "model": {"accuracy": classification.accuracy(labels, predicted),
                **{k: model_prf[k] for k in macro}},
      "baseline": {"accuracy": classification.accuracy(labels, baseline),
                   **{k: base_prf[k] for k in macro}},
      "per_class": {k: model_prf[k].tolist() for k in ("precision", "recall", "f1", "support")},
      "confusion_matrix": classification.confusion_matrix(labels, predicted, num_classes).tolist(),
  }


def load_run(workdir):
  """(config, model_info, model with trained weights) of a finished training run, in float32."""
  config = config_lib.read_saved(workdir)
  info_path = os.path.join(workdir, MODEL_INFO)
  if not tf.io.gfile.exists(info_path) or not tf.io.gfile.exists(
      os.path.join(workdir, FINAL_WEIGHTS) + ".index"):
    raise FileNotFoundError(
        f"{workdir} has no finished training run ({MODEL_INFO} and {FINAL_WEIGHTS}.* are written "
        "when training ends); run `bazel run //vision:train -- --workdir=...` first")
  with tf.io.gfile.GFile(info_path) as f:
    info = json.load(f)
  tf.keras.mixed_precision.set_global_policy("float32")
  model = create_model(config, len(info["class_names"]), info["mean"], info["std"])
  model.load_weights(os.path.join(workdir, FINAL_WEIGHTS)).expect_partial()
  return config, info, model


def _write_json(path: str, value) -> None:
  """Writes `value` as JSON to `path` (any file system) through a temporary name and a rename.

  A resumed run rewrites these files: readers never see half of one, and TensorFlow's ram://
  file system, which appends rather than truncates when a file is opened for writing again,
  gets a whole new file.
  """
  tmp = f"{path}.tmp-{os.getpid()}"
  with tf.io.gfile.GFile(tmp, "w") as f:
    json.dump(value, f, indent=2)
  tf.io.gfile.rename(tmp, path, overwrite=True)


def _save_final_weights(model, strategy, workdir: str) -> None:
  """Writes the trained weights to `<workdir>/final/weights` from the chief.

  Under MultiWorkerMirroredStrategy every worker must take part: reading the batch-norm moving
  statistics (sync-on-read variables) for the checkpoint is a collective across workers, so a
  chief saving alone pairs its collectives with whatever the other workers run next (the test
  predictions) and the job fails with a shape mismatch. The other workers write to a temporary
  directory of their own, removed at once (what Keras's ModelCheckpoint does).
  """
  path = os.path.join(workdir, FINAL_WEIGHTS)
  resolver = getattr(strategy, "cluster_resolver", None)
  if strategy_lib.is_chief():
    model.save_weights(path)
  elif resolver is not None and resolver.task_type is not None:
    scratch = os.path.join(workdir, f".final-{resolver.task_type}-{resolver.task_id}")
    model.save_weights(os.path.join(scratch, "weights"))
    tf.io.gfile.rmtree(scratch)


def _pipeline_share(config, data, split: str, ctx):
  """(examples, shard_records): one input pipeline's share of a split.

  TFRecord splits under several input pipelines are read by file, each host opening only its own
  files (or every n-th record when there are fewer files than hosts); other sources are in
  memory or small, and `pipeline.build` keeps every n-th record.
  """
  if config.data.source == "tfrecord" and ctx is not None and ctx.num_input_pipelines > 1:
    files = config.data.train_files if split == "train" else config.data.validation_files
    return tfrecord.image_dataset(files, check=False, input_context=ctx,
                                  num_parallel_reads=tf.data.AUTOTUNE if split == "train"
                                  else None), False
  return getattr(data, split), True


def train_and_evaluate(config, workdir: str, data_dir: str | None = None) -> result_lib.TrainResult:
  """Trains `config.model` on `config.data`, scores validation and test, writes the run to `workdir`.

  Returns:
    The run: the trained model, the majority-class baseline, the data (`vision.data.Splits`),
    `metrics["validation" | "test"]` = `compute_metrics` (model beside baseline, per class),
    the data fingerprint, epochs and training time; `extras` holds the run's `model_info`
    (class names, normalisation), sizes, steps per epoch, the Keras history and the workdir.
  """
  t0 = time.time()
  seeds.set_all(config.seed)
  tf.io.gfile.makedirs(workdir)
  config_lib.save(config, workdir)
  strategy = strategy_lib.create(config.distribution)
  data = data_lib.load(config.data, data_dir)
  size = config.resnet.image_size
  if config.data.normalization == "dataset":
    mean, std = channel_statistics(data.train, size)
  elif config.data.normalization == "imagenet":
    mean, std = list(models.IMAGENET_MEAN), list(models.IMAGENET_STD)
  else:
    raise ValueError(f"data.normalization={config.data.normalization!r}: use 'dataset' or 'imagenet'")
  info = {"class_names": data.class_names, "mean": mean, "std": std,
          "data_fingerprint": data.fingerprint, "model": config.model, "image_size": size,
          "crop_fraction": config.data.eval_crop_fraction}
  _write_json(os.path.join(workdir, MODEL_INFO), info)

  steps_per_epoch = config.steps_per_epoch or math.ceil(data.sizes["train"] / config.batch_size)
  if not steps_per_epoch:
    raise ValueError("config.steps_per_epoch is 0 and the train size is unknown (TFRecords): set "
                     "--config.steps_per_epoch=<train images // batch_size>")
  static = strategy_lib.is_tpu(strategy)
  validation_size = data.sizes.get("validation")
  if config.eval_steps and validation_size and config.eval_steps * config.batch_size < validation_size:
    raise ValueError(
        f"eval_steps={config.eval_steps} x batch_size={config.batch_size} covers fewer than the "
        f"{validation_size} validation examples; set --config.eval_steps="
        f"{math.ceil(validation_size / config.batch_size)} (or 0: the whole split)")
  # Every worker runs the same number of validation steps, or the collectives of a multi-worker
  # strategy pair different steps (and Keras needs a count for a distributed dataset): the
  # whole split is ceil(examples / global batch) batches, each pipeline padded up to that many.
  eval_steps = config.eval_steps or (math.ceil(validation_size / config.batch_size)
                                  if validation_size else None)

  def train_fn(ctx):
    examples, shard = _pipeline_share(config, data, "train", ctx)
    return input_pipeline.create_split(
        examples, config.data, image_size=size, batch_size=config.batch_size, training=True,
        num_classes=data.num_classes, input_context=ctx, drop_remainder=static, repeat=True,
        seed=config.seed, shard=shard)

  def eval_fn(ctx):
    examples, shard = _pipeline_share(config, data, "validation", ctx)
    # One step takes a batch from this pipeline for each of its replicas.
    replicas_here = ctx.num_replicas_in_sync // ctx.num_input_pipelines if ctx else 1
    return input_pipeline.create_split(
        examples, config.data, image_size=size, batch_size=config.batch_size, training=False,
        num_classes=data.num_classes, input_context=ctx, shard=shard, exact=True,
        num_batches=eval_steps * replicas_here if eval_steps else None)

  train_ds = strategy_lib.distribute(strategy, train_fn, config.batch_size)
  val_ds = strategy_lib.distribute(strategy, eval_fn, config.batch_size)
  with strategy.scope():
    model = create_model(config, data.num_classes, mean, std)
    compile_model(model, config, steps_per_epoch)
  t_train = time.time()
  history = fit_lib.fit(model, train_ds, epochs=config.epochs, workdir=workdir,
                        validation_data=val_ds, steps_per_epoch=steps_per_epoch,
                        validation_steps=eval_steps, verbose=2)
  train_seconds = time.time() - t_train
  _save_final_weights(model, strategy, workdir)

  # Every example of each split once, on every worker alike (see the module docstring).
  metrics = {}
  for split in ("validation", "test"):
    labels, predicted, _ = predict_labels(model, getattr(data, split), config, size)
    metrics[split] = compute_metrics(labels, predicted, data.num_classes, data.majority_class)
    metrics[split]["majority_class"] = data.class_names[data.majority_class]
  baseline = MajorityClass(data.majority_class, data.class_names[data.majority_class])
  result = result_lib.TrainResult(
      model=model, baseline=baseline, data=data, metrics=metrics,
      data_fingerprint=data.fingerprint, epochs=config.epochs, train_seconds=train_seconds,
      config=config,
      extras={"model_info": info, "sizes": data.sizes, "steps_per_epoch": steps_per_epoch,
              "history": history.history, "workdir": str(workdir),
              "total_seconds": time.time() - t0})
  if strategy_lib.is_chief():
    result.write(workdir)
  test = metrics["test"]
  print(f"test accuracy {test['model']['accuracy']:.4f} on {test['examples']} images "
        f"(majority baseline \"{baseline.class_name}\" {test['baseline']['accuracy']:.4f}); "
        f"trained in {train_seconds:.0f} s")
  return result
