"""Property-based fuzzing of the REST JSON decoder: any body decodes or is refused with a 4xx.

What the REST front does with a `:predict` body before the model sees it
(`tensor_json.parse_body`, `signature_name`, `request_to_inputs`) must, for any
bytes a client sends, return inputs or raise a `ServingError` whose HTTP status
is 400-499, never another exception (the issue-20 report found 500s from a lone
surrogate, 100k nested "[" and non-UTF-8 bytes). Three strategies: arbitrary
bytes; JSON documents built from TF Serving's request shapes with hostile leaves
(lone surrogates, huge and non-finite numbers, malformed {"b64": ...}); and
deep nesting. Examples are derandomized (the same on every run) and bounded, so
the suite takes seconds in CI.
"""

import json

import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serving.core import errors
from serving.core.signature import Signature
from serving.rest import tensor_json

FUZZ = settings(derandomize=True, max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def _signature(**inputs: tf.TensorSpec) -> Signature:
  # request_to_inputs reads only the input specs and names; no function is called.
  return Signature("fuzz", 1, "serving_default", None, inputs, {})


SIGNATURES = [
    _signature(x=tf.TensorSpec([None, 3], tf.float32)),
    _signature(text=tf.TensorSpec([None], tf.string)),
    _signature(ids=tf.TensorSpec([None, 2], tf.int64), image=tf.TensorSpec([None], tf.string)),
]

_TEXT = st.one_of(st.text(max_size=6), st.sampled_from(["\ud800abc", "\udfff", "a\udbff", "x"]))
_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), _TEXT,
    st.fixed_dictionaries({"b64": st.one_of(_TEXT, st.integers(), st.just("aGk="))}),
)
_VALUES = st.recursive(_LEAVES, lambda children: st.one_of(
    st.lists(children, max_size=4),
    st.dictionaries(st.sampled_from(["x", "text", "ids", "image", "b64", "\ud800"]), children,
                    max_size=3)), max_leaves=20)
_REQUESTS = st.one_of(
    _VALUES,
    st.fixed_dictionaries({"instances": _VALUES}, optional={"signature_name": _VALUES}),
    st.fixed_dictionaries({"inputs": _VALUES}, optional={"signature_name": _VALUES}),
)


def _decode(raw: bytes) -> None:
  """Runs every decoding step the REST front runs, on each test signature."""
  try:
    body = tensor_json.parse_body(raw)
    tensor_json.signature_name(body)
  except errors.ServingError as e:
    assert 400 <= e.http_status < 500, e.message
    return
  for sig in SIGNATURES:
    try:
      inputs, fmt = tensor_json.request_to_inputs(body, sig)
    except errors.ServingError as e:
      assert 400 <= e.http_status < 500, e.message
      continue
    assert fmt in ("row", "columnar") and isinstance(inputs, dict)


@FUZZ
@given(st.binary(max_size=200))
def test_any_bytes_decode_or_are_a_4xx(raw):
  _decode(raw)


@FUZZ
@given(_REQUESTS)
def test_any_json_request_decodes_or_is_a_4xx(request):
  # ensure_ascii writes a lone surrogate as the escape "\ud800", as a hostile client would.
  _decode(json.dumps(request, allow_nan=True).encode())


@FUZZ
@given(st.integers(1, 200_000), st.sampled_from(["[", "{\"a\":", "[{\"x\":"]),
       st.sampled_from(["", "1", "]"]))
def test_deep_nesting_is_a_4xx(depth, opener, tail):
  _decode(('{"instances": ' + opener * depth + tail).encode())


def test_known_500s_of_the_old_decoder_are_400s():
  # The three bodies of the issue-20 report, named.
  for raw, message in [(b'{"instances": ["\\ud800abc"]}', "input 'text'"),
                       (b"[" * 100_000, "nested too deeply"),
                       (b'{"instances": ["\xff"]}', "not UTF-8: byte 16")]:
    try:
      tensor_json.request_to_inputs(tensor_json.parse_body(raw), SIGNATURES[1])
    except errors.ServingError as e:
      assert e.http_status == 400 and message in e.message, e.message
    else:
      raise AssertionError(f"{raw[:30]!r} was accepted")
