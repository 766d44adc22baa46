"""Default text classifier: a CNN over WordPiece ids on the AG News hash split.

    bazel run //sequences/text:train -- --workdir=/tmp/trellis/text_cnn

Data: ../shared/data/ag_news holds only AG News's official 7,600-row *test* file, so this trains on
a repeatable 0.8/0.1/0.1 hash split of those rows (key = the text) — not the official protocol.
Measured by the bench on the 2-core shared CPU (3 epochs): the CNN reaches 0.860 ± 0.006 accuracy in
stratified 5-fold cross-validation (majority class 0.250), ~22 s of training per fold, below
NBSVM-bigram (0.882 ± 0.008; config.model=NBSVM) and the Ensemble (0.885 ± 0.006); see
sequences/text/README.md for every model.

Variants import this and change a few fields (`configs/shopworld.py`, `configs/tpu.py`); single
fields change on the command line: `--config.model=BiGRU --config.epochs=6`.
"""

import ml_collections

from common import config as config_lib
from common.distribute import config as distribute_config


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  # A class in models.py: Linear | FastText | CNN | BiGRU | Transformer; a classic baseline
  # (classic.py): NBSVM | TfidfLogistic; or Ensemble (ensemble.py, members below).
  config.model = "CNN"

  config.data = ml_collections.ConfigDict()
  # ag_news | polarity | jsonl | shopworld, or a user's own data: csv (a header; columns below)
  # | class_files (pos.txt, neg.txt: one example a line) | class_folders (pos/, neg/: one example
  # a file). One module each in sequences/text/data/. Local paths or gs://.
  config.data.source = "ag_news"
  # csv/jsonl: the file; class_files/class_folders: the folder; shopworld: the world directory;
  # polarity: "pos_file,neg_file".
  config.data.path = ""
  # Text encoding of the files (csv, class_files, class_folders, polarity), e.g. "cp1252".
  config.data.encoding = "utf-8"
  # csv: the text column (several, comma-separated, are joined with a space) and label column.
  config.data.text_column = "text"
  config.data.label_column = "label"
  # Hash-split fractions (train, validation, test); a pure function of each record's key.
  config.data.train_fraction = 0.8
  config.data.validation_fraction = 0.1

  config.tokenizer = ml_collections.ConfigDict()
  # Target WordPiece vocabulary size (learned from the training split only).
  config.tokenizer.vocab_size = 8000
  # Word pieces per text; longer texts are truncated (AG News averages ~56 pieces).
  config.tokenizer.sequence_length = 64
  # Inputs longer than this many bytes are rejected by the exported model (not truncated).
  config.tokenizer.max_input_bytes = 65536

  # The models' typed boundary: models.ModelConfig (vocab/classes/length come from the data).
  config.model_config = ml_collections.ConfigDict()
  config.model_config.embed_dim = 64
  config.model_config.hidden_dim = 64
  config.model_config.num_layers = 2
  config.model_config.num_heads = 4
  # Hashed bigram buckets (FastText, Linear). 2^15 keeps FastText's table at 2M parameters.
  config.model_config.ngram_buckets = 32768
  config.model_config.dropout = 0.1

  # The classic baselines' search space (classic.ClassicConfig), tuned on inner folds of train.
  config.classic = ml_collections.ConfigDict()
  config.classic.c_grid = (4.0, 16.0, 64.0)
  config.classic.alpha_grid = (0.5, 1.0)
  config.classic.beta_grid = (0.25, 0.5, 0.75, 1.0)
  config.classic.inner_folds = 3
  config.classic.max_tokens = 2**18
  config.classic.steps = 150
  config.classic.learning_rate = 0.2
  config.classic.seed = 0

  # config.model=Ensemble: members trained on train, blend weights fitted on validation. Any
  # classic or neural model names; a variant sets e.g. `config.ensemble.members = ("NBSVM", "CNN")`.
  config.ensemble = ml_collections.ConfigDict()
  config.ensemble.members = ("NBSVM", "TfidfLogistic", "FastText", "CNN")

  config.batch_size = 64
  config.epochs = 4
  config.learning_rate = 1e-3
  # Stop after this many epochs without validation-loss improvement (0 = never stop early).
  config.early_stopping_patience = 2
  config.seed = 0

  config.export = ml_collections.ConfigDict()
  # `bazel run //sequences/text:export` publishes to <export_root>/<model_name>/<version>/.
  config.export.model_name = "text_classifier"

  config.distribution = distribute_config.get_config()
  return config_lib.locked(config)
