"""Small SavedModels for the serving tests and the benchmark, published in the TF Serving layout.

Two models cover the input kinds trellis exports take, a third the compute of a real one:

* `affine` (float features): `serving_default` x:float32[None,3] -> y = x·W·v + b
  and total = Σx·v, where v is the version number, so answers tell versions
  apart; `classify` -> scores (softmax of y) and classes; `scaled` takes a
  scalar and has no batch dimension (never batched).
* `mlp` (a realistic small production model, for the benchmark):
  `serving_default` features:float32[None,479] -> score:float32[None], the
  dense top MLP of the MLPerf DLRM click-through ranking model (Criteo 1TB
  reference): 479 -> 1024 -> 1024 -> 512 -> 256 -> 1, ReLU, sigmoid. 2.2 M
  parameters (8.8 MB), 4.39 MFLOP per row. See `RankingMLP`.
* `text` (raw strings, tensorflow-text op inside the graph):
  `serving_default` text:string[None] -> num_tokens (whitespace tokens),
  length (bytes) and upper_bytes; its metadata lists `tensorflow_text` as a
  custom op, as `common.export` records it.

`publish` writes to a temporary directory and renames it into place, as
`common.export.publish.export_saved_model` does, so a polling server never sees
half a version.
"""

import itertools
import json
import pathlib
import shutil
import tempfile

import numpy as np
import tensorflow as tf

W = np.array([[1.0, -1.0], [0.5, 2.0], [-2.0, 0.25]], np.float32)
B = np.array([0.1, -0.2], np.float32)


class Affine(tf.Module):
  """y = x·W·scale + b on three float features."""

  def __init__(self, scale: float):
    super().__init__()
    self.w = tf.Variable(W * scale)
    self.b = tf.Variable(B)
    self.scale = tf.Variable(scale)

  @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
  def serve(self, x):
    return {"y": tf.matmul(x, self.w) + self.b, "total": tf.reduce_sum(x, axis=1) * self.scale}

  @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
  def classify(self, x):
    scores = tf.nn.softmax(tf.matmul(x, self.w) + self.b)
    classes = tf.tile(tf.constant([["neg", "pos"]]), [tf.shape(x)[0], 1])
    return {"scores": scores, "classes": classes}

  @tf.function(input_signature=[tf.TensorSpec([], tf.float32, name="factor")])
  def scaled(self, factor):
    return {"out": factor * self.scale}


def affine_expected(x: np.ndarray, version: int) -> dict[str, np.ndarray]:
  """What `affine` version `version` answers, computed with numpy."""
  x = np.asarray(x, np.float32)
  return {"y": x @ (W * version) + B, "total": x.sum(axis=1) * version}


MLP_FEATURES = 479
MLP_LAYERS = (1024, 1024, 512, 256, 1)


class RankingMLP(tf.Module):
  """A click-through-rate ranking MLP of the size small production models have.

  The layer sizes are those of the top MLP of MLPerf's DLRM reference for
  Criteo 1TB (479 inputs: the 128-d dense-feature embedding and the 351
  pairwise dot products of 27 feature embeddings; then 1024-1024-512-256-1),
  a published, widely deployed shape rather than one picked for this server.
  Here the 479 inputs arrive as one float vector per row (the embedding
  lookups and interactions, which need the large tables, are outside this
  test model). Parameters: 2,197,505 (8.8 MB float32). Per row:
  2 x (479*1024 + 1024*1024 + 1024*512 + 512*256 + 256*1) = 4.39 MFLOP. One
  row alone is a memory-bound pass over 8.8 MB of weights (in-process p50
  0.49 ms on this shared 2-core CPU, vs 0.19 ms for Affine, i.e. ~0.3 ms of
  compute: about a gRPC request's front-end cost) while a 32-row batch reuses
  each weight 32 times (p50 1.87 ms, 17k rows/s). Weights are seeded random
  (He-scaled), which is all a latency/throughput benchmark needs.
  """

  def __init__(self, seed: int = 0):
    super().__init__()
    rng = np.random.default_rng(seed)
    sizes = (MLP_FEATURES, *MLP_LAYERS)
    self.weights = [tf.Variable(rng.normal(0, np.sqrt(2 / n_in), (n_in, n_out)).astype(np.float32))
                    for n_in, n_out in itertools.pairwise(sizes)]
    self.biases = [tf.Variable(np.zeros(n_out, np.float32)) for n_out in sizes[1:]]

  @tf.function(input_signature=[tf.TensorSpec([None, MLP_FEATURES], tf.float32, name="features")])
  def serve(self, features):
    h = features
    for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
      h = tf.nn.relu(tf.matmul(h, w) + b)
    logit = tf.matmul(h, self.weights[-1]) + self.biases[-1]
    return {"score": tf.sigmoid(logit[:, 0])}


class Text(tf.Module):
  """Whitespace token count (tensorflow-text), byte length and upper-case of raw strings."""

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
  def serve(self, text):
    import tensorflow_text as tf_text
    tokens = tf_text.WhitespaceTokenizer().tokenize(text)
    return {"num_tokens": tokens.row_lengths(), "length": tf.strings.length(text),
            "upper_bytes": tf.strings.upper(text)}


def publish(module: tf.Module, signatures: dict, export_root: pathlib.Path, name: str,
            version: int, *, custom_ops: tuple[str, ...] = ()) -> pathlib.Path:
  """Saves `module` as `<export_root>/<name>/<version>` atomically, with metadata.json."""
  model_dir = pathlib.Path(export_root) / name
  model_dir.mkdir(parents=True, exist_ok=True)
  staging = pathlib.Path(tempfile.mkdtemp(prefix=".tmp-", dir=model_dir))
  tf.saved_model.save(module, str(staging), signatures=signatures)
  (staging / "assets.extra").mkdir()
  (staging / "assets.extra" / "metadata.json").write_text(json.dumps({
      "format_version": 1, "model_name": name, "version": version, "domain": "serving-test",
      "signatures": sorted(signatures), "custom_ops": list(custom_ops)}))
  final = model_dir / str(version)
  staging.rename(final)
  return final


def publish_affine(export_root: pathlib.Path, version: int, name: str = "affine") -> pathlib.Path:
  m = Affine(float(version))
  return publish(m, {"serving_default": m.serve, "classify": m.classify, "scaled": m.scaled},
                 export_root, name, version)


def publish_mlp(export_root: pathlib.Path, version: int = 1, name: str = "mlp") -> pathlib.Path:
  m = RankingMLP(seed=version)
  return publish(m, {"serving_default": m.serve}, export_root, name, version)


def publish_text(export_root: pathlib.Path, version: int = 1, name: str = "text") -> pathlib.Path:
  m = Text()
  return publish(m, {"serving_default": m.serve}, export_root, name, version,
                 custom_ops=("tensorflow_text",))


def publish_corrupt(export_root: pathlib.Path, name: str, version: int) -> pathlib.Path:
  """A version whose saved_model.pb is garbage (e.g. a truncated copy)."""
  good = sorted((pathlib.Path(export_root) / name).glob("[0-9]*"))[-1]
  staging = pathlib.Path(tempfile.mkdtemp(prefix=".tmp-", dir=good.parent))
  shutil.copytree(good, staging, dirs_exist_ok=True)
  (staging / "saved_model.pb").write_bytes(b"\x08\x01truncated")
  final = good.parent / str(version)
  staging.rename(final)
  return final
