"""The in-graph tokenizer: normalisation, packing, and the bad-input policy."""

import re

import pytest
import tensorflow as tf

from sequences.text import tokenizer as tokenizer_lib

CORPUS = ["Stocks rally as the central bank cuts rates",
          "The home team wins the cup final in extra time",
          "New phone chip doubles battery life, maker says",
          "Oil prices fall as supply rises"] * 20


@pytest.fixture(scope="module")
def vocab_path(tmp_path_factory):
  path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
  tokenizer_lib.learn_vocabulary(CORPUS, path, vocab_size=200)
  return str(path)


def test_vocabulary_starts_with_reserved_tokens_and_holds_training_words(vocab_path):
  vocab = tokenizer_lib.read_vocabulary(vocab_path)
  assert vocab[:2] == ["[PAD]", "[UNK]"]
  assert {"stocks", "rally", "bank"} <= set(vocab)  # lower-cased whole words of the corpus


def test_case_and_accents_are_folded(vocab_path):
  tok = tokenizer_lib.Tokenizer(vocab_path, sequence_length=8)
  ids = tok(tf.constant(["STOCKS Rally", "stocks rally", "stöcks rally"])).numpy()
  assert (ids[0] == ids[1]).all() and (ids[1] == ids[2]).all()
  assert (ids[0, :2] > 1).all()  # known words, not [UNK]
  assert (ids[0, 2:] == tokenizer_lib.PAD_ID).all()


def test_packs_to_fixed_length_truncating_long_text(vocab_path):
  tok = tokenizer_lib.Tokenizer(vocab_path, sequence_length=5)
  ids = tok(tf.constant(["oil", " ".join(["oil prices fall"] * 50)])).numpy()
  assert ids.shape == (2, 5) and ids.dtype == "int32"
  assert (ids[0, 1:] == 0).all() and (ids[1] != 0).all()  # padded / truncated by design


@pytest.mark.parametrize("bad, message", [
    ("", "empty or whitespace only"),
    ("   \n", "empty or whitespace only"),
    (b"caf\xe9 latin-1", "not valid UTF-8"),
    ("x" * 1001, "longer than max_input_bytes=1000"),
])
def test_bad_inputs_fail_with_a_message_naming_problem_and_index(vocab_path, bad, message):
  tok = tokenizer_lib.Tokenizer(vocab_path, sequence_length=8, max_input_bytes=1000)
  with pytest.raises(tf.errors.InvalidArgumentError, match=message) as info:
    tok(tf.constant([b"fine text", bad.encode() if isinstance(bad, str) else bad]))
  # Eager prints the index on the next line, graph mode as "[1]"; both name index 1.
  assert re.search(r"batch index:\W*\[?1\b", str(info.value))


def test_text_at_the_byte_cap_is_accepted(vocab_path):
  tok = tokenizer_lib.Tokenizer(vocab_path, sequence_length=4, max_input_bytes=1000)
  assert tok(tf.constant(["a" * 1000])).shape == (1, 4)


def test_missing_or_foreign_vocabulary_is_a_clear_error(tmp_path):
  with pytest.raises(FileNotFoundError, match="learn_vocabulary"):
    tokenizer_lib.Tokenizer(str(tmp_path / "nope.txt"))
  foreign = tmp_path / "bert.txt"
  foreign.write_text("[CLS]\n[SEP]\nhello\n")
  with pytest.raises(ValueError, match="must start with"):
    tokenizer_lib.Tokenizer(str(foreign))
  with pytest.raises(ValueError, match="no texts"):
    tokenizer_lib.learn_vocabulary([], tmp_path / "v.txt")


def test_vocabulary_and_tokenizer_on_a_non_local_file_system():
  """A workdir may be gs://; TensorFlow's ram:// file system stands in for it here."""
  path = "ram://tokenizer_test/run/vocab.txt"
  tokenizer_lib.learn_vocabulary(CORPUS, path, vocab_size=200)
  assert tokenizer_lib.read_vocabulary(path)[:2] == ["[PAD]", "[UNK]"]
  ids = tokenizer_lib.Tokenizer(path, sequence_length=4)(tf.constant(["stocks rally"])).numpy()
  assert (ids[0, :2] > 1).all()  # known words, read from the ram:// vocabulary
  with pytest.raises(FileNotFoundError, match="learn_vocabulary"):
    tokenizer_lib.read_vocabulary("ram://tokenizer_test/elsewhere/vocab.txt")
