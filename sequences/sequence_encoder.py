"""`SequenceEncoder`: a user's most recent N events -> one fixed-size query vector (recsys user tower).

An event is an item id and how long ago it happened. The encoder embeds each event (the item's
embedding plus an embedding of its time gap), reads the sequence oldest to newest with a GRU or a
small Transformer, and projects the result to `output_dim`:

    encoder = SequenceEncoder(output_dim=64, item_embedding=item_tower_embedding)  # share item ids
    query = encoder({"item_ids": ids,          # [B, N] int or string; padding = padding_id
                     "time_gaps": seconds})    # [B, N] float: query time - event time, >= 0

Sharing the candidate tower's item embedding (as in YouTube DNN / SASRec) means an item learned as
a candidate is the same vector when it appears in a history. Without one, the encoder hashes ids
into its own table (`num_hash_bins`), so unseen ids still map somewhere instead of failing.

Padding: histories shorter than N are padded (left or right) with `padding_id` (0 / ""), or given an
explicit boolean `mask`. Padded positions never change the output: the GRU skips them (Keras
masking carries the state over), the Transformer excludes them from attention and pooling, and its
position embedding counts recency from the newest real event rather than from the slot index.

Time gaps: the value of an event decays with age on a log scale (a click a minute ago vs an hour
ago differs more than one 30 vs 31 days ago), so a gap is both bucketised on log-spaced boundaries
(1 min … 1 year, an embedding per bucket) and fed as log1p(hours) through a linear map.
"""

from __future__ import annotations

import tensorflow as tf

# Log-spaced gap boundaries in seconds: 1 min, 10 min, 1 h, 6 h, 1 d, 3 d, 1 w, 30 d, 90 d, 365 d.
DEFAULT_GAP_BOUNDARIES = (60.0, 600.0, 3600.0, 21600.0, 86400.0, 259200.0, 604800.0, 2592000.0,
                          7776000.0, 31536000.0)
ENCODERS = ("gru", "transformer")


class SequenceEncoder(tf.keras.layers.Layer):
  """Encodes a padded batch of recent events into [batch, output_dim] query vectors.

  Args:
    output_dim: size of the returned vector (the retrieval embedding size).
    item_embedding: a layer mapping item ids [B, N] to [B, N, D] (e.g. the candidate tower's
      `tf.keras.layers.Embedding` after a `StringLookup`); None = a hashed embedding of its own.
    num_hash_bins: rows of the own hashed embedding table (ignored with `item_embedding`).
    embedding_dim: D of the own item embedding (ignored with `item_embedding`).
    encoder: "gru" or "transformer".
    hidden_dim: GRU units / Transformer width; defaults to the item embedding size.
    num_layers: stacked GRU or Transformer layers.
    num_heads: Transformer attention heads (must divide hidden_dim).
    max_length: longest history the Transformer's recency positions cover; older events share the
      last position.
    dropout: dropout rate inside the encoder.
    use_time_gaps: read `inputs["time_gaps"]`; False = items only.
    gap_boundaries: increasing gap bucket boundaries in seconds.
    padding_id: the id that marks padding when no `mask` is passed (0 for ints, "" for strings).
      A row with no real events (a new user) encodes to a learned cold-start vector.
    normalize: L2-normalise the output (for cosine-similarity retrieval).
  """

  def __init__(self, output_dim: int = 64, *, item_embedding: tf.keras.layers.Layer | None = None,
               num_hash_bins: int = 100_000, embedding_dim: int = 32, encoder: str = "gru",
               hidden_dim: int | None = None, num_layers: int = 1, num_heads: int = 2,
               max_length: int = 200, dropout: float = 0.0, use_time_gaps: bool = True,
               gap_boundaries: tuple[float, ...] = DEFAULT_GAP_BOUNDARIES,
               padding_id: int | str = 0, normalize: bool = False, **kwargs):
    super().__init__(**kwargs)
    if encoder not in ENCODERS:
      raise ValueError(f"encoder={encoder!r} is unknown; use one of {ENCODERS}")
    if list(gap_boundaries) != sorted(set(gap_boundaries)):
      raise ValueError(f"gap_boundaries must be strictly increasing, got {gap_boundaries}")
    for name, value in (("output_dim", output_dim), ("num_layers", num_layers),
                        ("num_hash_bins", num_hash_bins), ("max_length", max_length)):
      if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    self.output_dim = output_dim
    self.encoder = encoder
    self.num_layers = num_layers
    self.num_heads = num_heads
    self.max_length = max_length
    self.dropout = dropout
    self.use_time_gaps = use_time_gaps
    self.gap_boundaries = tuple(float(b) for b in gap_boundaries)
    self.padding_id = padding_id
    self.normalize = normalize
    self.num_hash_bins = num_hash_bins
    self.embedding_dim = embedding_dim
    self.hidden_dim = hidden_dim
    self._own_embedding = item_embedding is None
    if item_embedding is None:
      self.hashing = tf.keras.layers.Hashing(num_hash_bins, name="item_hash")
      item_embedding = tf.keras.layers.Embedding(num_hash_bins, embedding_dim, name="item_embedding")
    self.item_embedding = item_embedding
    # The other layers' widths follow the item embedding's, known after its first call.
    self._built_width = None

  def _make_sublayers(self, width: int):
    """Creates the width-dependent layers the first time an item embedding comes back."""
    self._built_width = width
    hidden = self.hidden_dim or width
    self.hidden = hidden
    self.input_proj = (tf.keras.layers.Dense(hidden, name="input_proj") if hidden != width
                       else None)
    if self.use_time_gaps:
      self.gap_bucket_embedding = tf.keras.layers.Embedding(
          len(self.gap_boundaries) + 1, hidden, name="gap_bucket_embedding")
      self.gap_log_proj = tf.keras.layers.Dense(hidden, use_bias=False, name="gap_log_proj")
    if self.encoder == "gru":
      self.rnns = [tf.keras.layers.GRU(hidden, return_sequences=i < self.num_layers - 1,
                                       dropout=self.dropout, name=f"gru{i}")
                   for i in range(self.num_layers)]
    else:
      if hidden % self.num_heads:
        raise ValueError(f"hidden size {hidden} is not divisible by num_heads={self.num_heads}")
      self.position_embedding = tf.keras.layers.Embedding(self.max_length, hidden,
                                                          name="recency_embedding")
      self.attention = [tf.keras.layers.MultiHeadAttention(self.num_heads, hidden // self.num_heads,
                                                           dropout=self.dropout, name=f"attn{i}")
                        for i in range(self.num_layers)]
      self.ffn = [tf.keras.Sequential([tf.keras.layers.Dense(2 * hidden, activation="gelu"),
                                       tf.keras.layers.Dense(hidden)], name=f"ffn{i}")
                  for i in range(self.num_layers)]
      self.norms = [(tf.keras.layers.LayerNormalization(name=f"norm{i}a"),
                     tf.keras.layers.LayerNormalization(name=f"norm{i}b"))
                    for i in range(self.num_layers)]
    # A user with no events yet gets a learned "cold start" state instead of zeros.
    self.empty_history = self.add_weight(
        name="empty_history", shape=(hidden,),
        initializer=tf.keras.initializers.RandomNormal(stddev=0.1))
    self.output_proj = tf.keras.layers.Dense(self.output_dim, name="output_proj")

  def _mask(self, inputs, ids):
    if "mask" in inputs:
      return tf.cast(inputs["mask"], tf.bool)
    if ids.dtype == tf.string:
      padding = self.padding_id if isinstance(self.padding_id, str) else ""
    else:
      padding = tf.constant(self.padding_id, dtype=ids.dtype)
    return tf.not_equal(ids, padding)

  def _gap_features(self, gaps, mask):
    gaps = tf.cast(gaps, tf.float32)
    # Padded slots may hold anything (e.g. -1); only real events are checked and used.
    checked = tf.where(mask, gaps, tf.zeros_like(gaps))
    checked = tf.debugging.assert_all_finite(
        checked, message="time_gaps holds NaN or infinity at a real (unpadded) event")
    tf.debugging.assert_non_negative(
        checked, message="time_gaps must be >= 0 seconds (query time minus event time); a negative "
                         "gap means an event after the query time, i.e. leaked future data")
    buckets = tf.searchsorted(tf.constant(self.gap_boundaries),
                              tf.reshape(checked, [-1]), side="right")
    buckets = tf.reshape(buckets, tf.shape(checked))
    log_hours = tf.math.log1p(checked / 3600.0)[..., None]
    return self.gap_bucket_embedding(buckets) + self.gap_log_proj(log_hours)

  def call(self, inputs, training=None):
    if not isinstance(inputs, dict) or "item_ids" not in inputs:
      raise ValueError("SequenceEncoder expects a dict with 'item_ids' [batch, N] (and "
                       "'time_gaps' [batch, N] seconds unless use_time_gaps=False; optional 'mask')")
    if self.use_time_gaps and "time_gaps" not in inputs:
      raise ValueError("SequenceEncoder(use_time_gaps=True) needs inputs['time_gaps'] [batch, N] "
                       "(seconds between each event and the query time); pass it or construct "
                       "the encoder with use_time_gaps=False")
    ids = inputs["item_ids"]
    mask = self._mask(inputs, ids)
    lookup = self.hashing(ids) if self._own_embedding else ids
    events = self.item_embedding(lookup)
    if self._built_width is None:
      self._make_sublayers(int(events.shape[-1]))
    if self.input_proj is not None:
      events = self.input_proj(events)
    if self.use_time_gaps:
      events = events + self._gap_features(inputs["time_gaps"], mask)
    events = events * tf.cast(mask, events.dtype)[..., None]
    if self.encoder == "gru":
      pooled = self._gru(events, mask, training)
    else:
      pooled = self._transformer(events, mask, training)
    has_events = tf.reduce_any(mask, axis=1, keepdims=True)
    pooled = tf.where(has_events, pooled, self.empty_history[None, :])
    out = self.output_proj(pooled)
    return tf.math.l2_normalize(out, axis=-1) if self.normalize else out

  def _gru(self, h, mask, training):
    for rnn in self.rnns:
      h = rnn(h, mask=mask, training=training)
    return h

  def _transformer(self, h, mask, training):
    m = tf.cast(mask, tf.int32)
    # Recency rank: 0 for the newest real event, counting back over real events only, so the
    # same history gets the same positions whatever padding surrounds it.
    recency = tf.cumsum(m, axis=1, reverse=True) - 1
    recency = tf.clip_by_value(recency, 0, self.max_length - 1)
    h = h + self.position_embedding(recency) * tf.cast(mask, h.dtype)[..., None]
    attention_mask = tf.logical_and(mask[:, :, None], mask[:, None, :])
    for attn, ffn, (norm_a, norm_b) in zip(self.attention, self.ffn, self.norms, strict=True):
      x = norm_a(h)
      h = h + attn(x, x, attention_mask=attention_mask, training=training)
      h = h + ffn(norm_b(h))
    weights = tf.cast(mask, h.dtype)[..., None]
    count = tf.maximum(tf.reduce_sum(weights, axis=1), 1.0)
    return tf.reduce_sum(h * weights, axis=1) / count

  def get_config(self):
    if not self._own_embedding:
      # A shared embedding belongs to the candidate tower; it is rebuilt there, not here.
      raise NotImplementedError("a SequenceEncoder with a shared item_embedding cannot be "
                                "serialised with get_config; save the model as a SavedModel")
    return {**super().get_config(), "output_dim": self.output_dim,
            "num_hash_bins": self.num_hash_bins, "embedding_dim": self.embedding_dim,
            "encoder": self.encoder, "hidden_dim": self.hidden_dim,
            "num_layers": self.num_layers, "num_heads": self.num_heads,
            "max_length": self.max_length, "dropout": self.dropout,
            "use_time_gaps": self.use_time_gaps, "gap_boundaries": self.gap_boundaries,
            "padding_id": self.padding_id, "normalize": self.normalize}


def time_gaps(event_timestamps: tf.Tensor, query_timestamp: tf.Tensor) -> tf.Tensor:
  """Seconds from each event [B, N] to its row's query time [B] (what `time_gaps` expects)."""
  # Subtract in float64: a Unix time in float32 is only accurate to ~2 minutes.
  gaps = tf.cast(query_timestamp, tf.float64)[:, None] - tf.cast(event_timestamps, tf.float64)
  return tf.cast(gaps, tf.float32)


__all__ = ["DEFAULT_GAP_BOUNDARIES", "ENCODERS", "SequenceEncoder", "time_gaps"]
