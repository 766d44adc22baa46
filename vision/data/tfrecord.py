"""ImageNet-schema TFRecords (`image/encoded`, `image/class/label`) with their own split files.

The layout of ImageNet conversions (`train-00000-of-01024`, `validation-00000-of-00128`): the
files say which split a record is in, so nothing is hashed. Records are read lazily and sizes are
unknown until read (`sizes` is None: set `steps_per_epoch`).
"""

import os

import tensorflow as tf

from common.data import fingerprint
from common.data import tfrecord as tfrecord_format
from vision.data import examples


def read(train_files, validation_files, test_files, class_names,
         max_label_count_records: int = 10_000) -> examples.Splits:
  """The splits of explicit per-split files (glob patterns, local or gs://).

  The majority baseline comes from (up to) the first `max_label_count_records` train labels: on
  ImageNet every class is ~0.1% and reading 140 GB for that number is not worth it. The
  fingerprint covers the files' names and sizes, not their contents, for the same reason.
  """
  if not class_names:
    raise ValueError("TFRecords carry integer labels only: set data.class_names (or data.num_classes)")
  train = tfrecord_format.image_dataset(train_files, check=False,
                                        num_parallel_reads=tf.data.AUTOTUNE)
  validation = tfrecord_format.image_dataset(validation_files, check=False)
  test = tfrecord_format.image_dataset(test_files, check=False) if test_files else validation
  labels = [int(y) for _, y in train.take(max_label_count_records).as_numpy_iterator()]
  files = (tfrecord_format.expand_files(train_files)
           + tfrecord_format.expand_files(validation_files))
  return examples.Splits(
      train=train, validation=validation, test=test, class_names=list(class_names),
      train_label_counts=examples.label_counts(labels, len(class_names)),
      sizes={"train": None, "validation": None, "test": None},
      fingerprint=fingerprint.of("tfrecord", [(os.path.basename(f), tf.io.gfile.stat(f).length)
                                              for f in files]))
