"""The shop world's item texts -> category: what `make demo` and the tests train (< 1 min on CPU).

    bazel run //sequences/text:train -- --config=sequences/text/configs/shopworld.py \
        --config.data.path=/tmp/trellis/world --workdir=/tmp/trellis/text_shop

The world's titles/descriptions are generated from the category's vocabulary with noise, so a
bag-of-words model already does well; the FastText model is small and fast and beats the majority
baseline by a wide margin (see demo.py and train_test.py).
"""

from sequences.text.configs import default


def get_config():
  config = default.get_config()
  config.model = "FastText"
  config.data.source = "shopworld"
  config.tokenizer.vocab_size = 2000
  config.tokenizer.sequence_length = 32
  config.model_config.embed_dim = 32
  config.model_config.ngram_buckets = 4096
  config.batch_size = 32
  config.early_stopping_patience = 3
  config.epochs = 15
  config.learning_rate = 2e-2
  config.export.model_name = "text_shop_category"
  return config
