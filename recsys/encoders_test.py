"""recsys.encoders: the MovieLens text tower is //sequences/text:encoder's body, and it places items."""

import numpy as np
import tensorflow as tf

from recsys import encoders, models
from sequences.text import encoder as text_encoder

# The class //sequences/text:encoder's feature_body builds for FastText (a sequences.text models class).
FAST_TEXT = type(text_encoder.feature_body("FastText", vocab_size=10, sequence_length=4, num_classes=1))

TITLES = np.array(["Toy Story (1995). Animation, Children's, Comedy",
                   "GoldenEye (1995). Action, Adventure, Thriller",
                   "Four Rooms (1995). Thriller"], dtype=object)


def test_text_tower_is_the_sequences_text_feature_body():
  encoder = encoders.text_encoder(TITLES, embed_dim=8)
  assert isinstance(encoder.body, FAST_TEXT)
  assert (FAST_TEXT.__module__, FAST_TEXT.__name__) == ("sequences.text.models", "FastText")
  # Title and genre words are in the vocabulary the stock-op TextVectorization uses.
  vocabulary = encoder.vectorize.get_vocabulary()
  assert {"toy", "animation", "thriller"} <= set(vocabulary)
  out = encoder(tf.constant(TITLES.astype(str)))
  assert out.shape == (3, 8)


def test_a_never_seen_item_is_placed_by_its_title_and_genres():
  config = models.ModelConfig(embedding_dim=8, hash_bins=100, user_hash_bins=0, max_history=4,
                              category_weight=0.5, id_dropout=0.2)
  model = models.Recommender(config, known_items=["1", "2"],
                             text_encoder=encoders.text_encoder(TITLES, embed_dim=8))
  assert isinstance(model.item_tower.text_encoder.body, FAST_TEXT)
  # Item "3" never trained: no id view, yet two different texts give two different embeddings.
  emb = model.item_tower({"item_id": tf.constant(["3", "3"]),
                          "text": tf.constant(TITLES[1:].astype(str))}).numpy()
  assert np.all(np.isfinite(emb))
  assert not np.allclose(emb[0], emb[1])
