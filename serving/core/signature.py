"""One callable signature of a loaded SavedModel: input checks and execution.

A `Signature` wraps a SavedModel signature (a concrete function taking named
tensors and returning a dict of named tensors). It checks a request's inputs
against the signature's `TensorSpec`s *before* running the graph, so a client
gets "input 'x' has shape (2, 4) but the signature expects (None, 3)" rather
than a TensorFlow stack trace, and it knows whether requests may be batched
together (every input and output has a leading batch dimension).
"""

import dataclasses
import functools
import re
from collections.abc import Mapping

import numpy as np
import tensorflow as tf
from tensorflow.python import pywrap_tfe
from tensorflow.python.eager import context, core
from tensorflow.python.framework.ops import EagerTensor

from serving.core import errors

# Runs a function's kernels in the calling thread instead of handing them to TensorFlow's
# inter-op pool: for the small graphs most requests run, the hand-off between threads
# costs more CPU than the model (see `Signature._inline`).
_INLINE_EXECUTOR = "SINGLE_THREADED_EXECUTOR"


@dataclasses.dataclass(frozen=True)
class Signature:
  """A named signature of one model version.

  Attributes:
    model: model name (for messages).
    version: model version (for messages).
    name: signature key, e.g. "serving_default".
    fn: the concrete function; called with keyword tensors.
    inputs: input name -> TensorSpec.
    outputs: output name -> TensorSpec.
  """

  model: str
  version: int
  name: str
  fn: tf.types.experimental.ConcreteFunction
  inputs: Mapping[str, tf.TensorSpec]
  outputs: Mapping[str, tf.TensorSpec]

  @classmethod
  def from_function(cls, model: str, version: int, name: str, fn) -> "Signature":
    args, kwargs = fn.structured_input_signature
    # Loaded signatures take keyword tensors; a fresh tf.function's concrete
    # function lists them positionally, named by their TensorSpecs.
    inputs = dict(kwargs) | {spec.name: spec for spec in args}
    outputs = fn.structured_outputs
    if not isinstance(outputs, Mapping):
      raise ValueError(f"signature {name!r} returns {type(outputs).__name__}, not a dict of tensors")
    outputs = {k: tf.TensorSpec(v.shape, v.dtype, k) for k, v in outputs.items()}
    return cls(model, version, name, fn, inputs, outputs)

  @functools.cached_property
  def batchable(self) -> bool:
    """True when every input and output has an unknown leading (batch) dimension.

    Only then can the server concatenate several requests along dim 0, run once
    and split the outputs back by row count.
    """
    specs = [*self.inputs.values(), *self.outputs.values()]
    return bool(self.inputs) and all(
        s.shape.rank is not None and s.shape.rank >= 1 and s.shape[0] is None for s in specs)

  @functools.cached_property
  def _fast_checks(self) -> tuple[frozenset, tuple]:
    """The input specs as plain Python values, for `check_inputs`' per-request path.

    TensorShape and DType comparisons cost microseconds each; a request with
    well-formed inputs only needs a numpy dtype equality and a tuple walk. Each
    entry: (name, numpy dtype or None for strings, dims or None for any rank,
    whether dim 0 is the batch dimension).
    """
    checks = []
    for key, spec in self.inputs.items():
      np_dtype = None if spec.dtype == tf.string else np.dtype(spec.dtype.as_numpy_dtype)
      dims = None if spec.shape.rank is None else tuple(spec.shape.as_list())
      checks.append((key, np_dtype, dims, bool(dims) and dims[0] is None))
    return frozenset(self.inputs), tuple(checks)

  @functools.cached_property
  def _inline(self) -> list[bool]:
    """[whether to call with the single-threaded executor]; cleared (for good) when this
    signature's graph has an op that executor cannot run, so it falls back to the default.

    Intra-op parallelism (the threads inside a matmul or convolution) stays; what goes is
    the inter-op hand-off, ~30-100 µs per call on a 2-core machine.
    """
    return [True]

  @functools.cached_property
  def _direct(self) -> "_DirectCall | None":
    """The signature's graph function bound once, for the per-request path; None when this
    TensorFlow's ConcreteFunction lacks the (private) pieces it needs: `run` then calls
    `fn(**tensors)`.

    `fn(**tensors)` spends ~70 µs per call binding keywords to the traced signature, and even
    `fn._call_flat` goes through five Python layers (tape and graph-building checks, the
    executor-type context manager, repacking the outputs) that cost as much as running a small
    model from a server thread. A served signature is always called eagerly, with no tape
    watching, on exactly its checked input tensors, so all of that is decided once here and
    each request is one `TFE_Py_Execute` of the function.
    """
    fn = self.fn
    try:
      keywords = tuple(fn._arg_keywords)
      atomic = fn._inference_function
      name = atomic.name.decode()
      num_outputs = len(atomic.function_type.flat_outputs)
      captures = fn._captured_inputs
    except AttributeError:
      return None
    # The function returns its outputs flat, in `tf.nest` order of the output dict.
    output_keys = tuple(tf.nest.flatten({k: k for k in fn.structured_outputs}))
    if (sorted(keywords) != sorted(self.inputs) or num_outputs != len(output_keys)
        or any(callable(c) for c in captures)):
      return None
    ctx = context.context()
    with context.function_executor_type(_INLINE_EXECUTOR):
      inline_attrs = _flat_attrs(ctx.function_call_options.as_attrs())
    default_attrs = _flat_attrs(ctx.function_call_options.as_attrs())
    return _DirectCall(ctx, name, keywords, tuple(self.inputs[k].dtype.as_datatype_enum
                                                  for k in keywords),
                       list(fn.captured_inputs), num_outputs, output_keys, inline_attrs,
                       default_attrs)

  def describe(self) -> str:
    return f"signature {self.name!r} of model {self.model!r} version {self.version}"

  def check_inputs(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Validates names, dtypes and shapes; returns the inputs in the signature's dtypes.

    Raises:
      ServingError(INVALID_ARGUMENT) naming the offending input and what was expected.
    """
    if self._inputs_ok(inputs):
      return dict(inputs)
    # Something is wrong: the full check below finds what, and says so.
    missing = sorted(set(self.inputs) - set(inputs))
    unexpected = sorted(set(inputs) - set(self.inputs))
    if missing or unexpected:
      parts = []
      if missing:
        parts.append(f"missing input(s) {missing}")
      if unexpected:
        parts.append(f"unknown input(s) {unexpected}")
      raise errors.invalid_argument(
          f"{self.describe()}: {' and '.join(parts)}; it takes exactly "
          f"{self._spec_list()} (see GetModelMetadata or GET /v1/models/{self.model}/metadata)")
    checked = {}
    batch_sizes = set()
    for key, spec in self.inputs.items():
      value = inputs[key]
      dtype = _tf_dtype(value)
      if dtype != spec.dtype:
        raise errors.invalid_argument(
            f"{self.describe()}: input {key!r} has dtype {dtype.name} but the signature expects "
            f"{spec.dtype.name}; send {spec.dtype.name} values")
      if not spec.shape.is_compatible_with(value.shape):
        raise errors.invalid_argument(
            f"{self.describe()}: input {key!r} has shape {tuple(value.shape)} but the signature "
            f"expects {_shape_str(spec.shape)} (None = any size)")
      if spec.shape.rank and spec.shape[0] is None:
        batch_sizes.add(value.shape[0])
      checked[key] = value
    if len(batch_sizes) > 1 and self.batchable:
      raise errors.invalid_argument(
          f"{self.describe()}: inputs disagree on the batch size (dim 0): "
          f"{ {k: v.shape[0] for k, v in checked.items()} }; send the same number of rows for each")
    return checked

  def _inputs_ok(self, inputs: Mapping[str, np.ndarray]) -> bool:
    """True when `inputs` pass every check of `check_inputs` (the per-request fast path)."""
    names, checks = self._fast_checks
    if len(inputs) != len(names):
      return False
    batch = None
    for key, np_dtype, dims, batched in checks:
      value = inputs.get(key)
      if value is None:
        return False
      if np_dtype is None:
        if value.dtype.kind not in "OSU":
          return False
      elif value.dtype != np_dtype:
        return False
      if dims is not None:
        shape = value.shape
        if len(shape) != len(dims):
          return False
        for want, got in zip(dims, shape, strict=True):
          if want is not None and want != got:
            return False
        if batched:
          if batch is None:
            batch = shape[0]
          elif batch != shape[0]:
            return False
    return True

  def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Runs the signature on checked inputs; returns numpy outputs."""
    try:
      direct = self._direct
      if direct is not None:
        return direct(inputs, self._inline)
      tensors = {k: tf.constant(v, dtype=self.inputs[k].dtype) for k, v in inputs.items()}
      return {k: v.numpy() for k, v in self.fn(**tensors).items()}
    except tf.errors.InvalidArgumentError as e:
      # Data-dependent failures inside the graph (undecodable image bytes, a
      # check_numerics) are the client's input, not a server fault.
      raise errors.invalid_argument(
          f"{self.describe()} could not process the input: {graph_error_message(e.message)}") from e

  def _spec_list(self) -> str:
    return ", ".join(f"{k}: {s.dtype.name}{_shape_str(s.shape)}" for k, s in sorted(self.inputs.items()))


def _flat_attrs(attrs: Mapping[str, object]) -> tuple:
  return tuple(x for item in attrs.items() for x in item)


@dataclasses.dataclass(frozen=True)
class _DirectCall:
  """One signature's graph function, called the way TensorFlow's eager runtime calls it in the
  end (`execute.quick_execute`), with everything but the tensors prepared once.

  Attributes:
    ctx: the eager context.
    name: the function's name in that context.
    keywords: input names in the function's argument order.
    dtypes: their DataType enums.
    captures: the captured tensors (variable handles, constants) passed after the inputs.
    num_outputs: how many flat outputs the function returns.
    output_keys: the output names in that order.
    inline_attrs, default_attrs: the call's attributes with the single-threaded executor, and
      with the context's own (for graphs that executor cannot run).
  """

  ctx: object
  name: str
  keywords: tuple
  dtypes: tuple
  captures: list
  num_outputs: int
  output_keys: tuple
  inline_attrs: tuple
  default_attrs: tuple

  def __call__(self, inputs: Mapping[str, np.ndarray], inline: list[bool]) -> dict[str, np.ndarray]:
    device = self.ctx.device_name
    # A copy, as tf.constant makes: the tensor may share the array's memory.
    args = [EagerTensor(inputs[k].copy(), device, d) for k, d in zip(self.keywords, self.dtypes,
                                                                      strict=True)]
    args += self.captures
    if inline[0]:
      try:
        return self._execute(args, self.inline_attrs)
      except tf.errors.OpError as e:
        if "executor" not in e.message.lower():
          raise  # the input's fault (or the model's), whatever the executor
        inline[0] = False
    return self._execute(args, self.default_attrs)

  def _execute(self, args: list, attrs: tuple) -> dict[str, np.ndarray]:
    try:
      outputs = pywrap_tfe.TFE_Py_Execute(self.ctx._handle, self.ctx.device_name, self.name,
                                          args, attrs, self.num_outputs)
    except core._NotOkStatusException as e:  # what execute.quick_execute turns into an OpError
      raise core._status_to_exception(e) from None
    return {k: v.numpy() for k, v in zip(self.output_keys, outputs, strict=True)}


def graph_error_message(message: str) -> str:
  """The model's own explanation inside a TensorFlow graph error, without TF's scaffolding.

  A failed `tf.debugging.Assert` arrives as "Graph execution error: ... Detected at node ...
  assertion failed: [what the model says] [values] [[{{node ...}}]]"; clients need the
  middle part, which names the problem and the fix.
  """
  kept = []
  for line in message.splitlines():
    line = line.strip()
    if (not line or line.startswith(("Graph execution error", "Detected at node", "<stack traces",
                                     "[[{{node", "[[")) or line.startswith("File ")):
      continue
    line = re.sub(r"\s*\[\[\{\{node [^}]*\}\}\]\].*$", "", line)
    line = re.sub(r"\s*\[Op:[^\]]*\]$", "", line)
    kept.append(line.removeprefix("assertion failed: "))
  return " ".join(kept) or message.strip().splitlines()[0]


def _tf_dtype(value: np.ndarray) -> tf.DType:
  # Strings arrive as numpy object arrays of bytes (tf.make_ndarray) or as
  # fixed-width bytes/str arrays (JSON): both are tf.string.
  if value.dtype.kind in ("O", "S", "U"):
    return tf.string
  return tf.as_dtype(value.dtype)


def _shape_str(shape: tf.TensorShape) -> str:
  if shape.rank is None:
    return "(any shape)"
  return "(" + ", ".join("None" if d is None else str(d) for d in shape.as_list()) + (",)" if shape.rank == 1 else ")")
