"""Full-batch L-BFGS-B over `tf.Variable`s, with scipy doing the search and TF the gradients.

The bridge TF 1's `tf.contrib.opt.ScipyOptimizerInterface` was, for TF 2: the variables are
flattened into one float64 vector, `scipy.optimize.minimize(method="L-BFGS-B")` proposes
points, and each proposal is written back into the variables before the (compiled) loss and
its gradient are evaluated. The variables hold the final point when `minimize` returns.

Cost: every scipy function evaluation is one full-batch forward and backward pass, plus two
copies of the parameter vector between TF and numpy; L-BFGS-B keeps `maxcor` pairs of
parameter-sized vectors (memory `2 · maxcor · num_parameters` float64s).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.optimize
import tensorflow as tf


def minimize(loss_and_gradients: Callable[[], tuple[tf.Tensor, Sequence[tf.Tensor]]],
             variables: Sequence[tf.Variable], maxiter: int, maxcor: int = 10
             ) -> scipy.optimize.OptimizeResult:
  """Runs one L-BFGS-B minimisation from the variables' current values.

  Args:
    loss_and_gradients: returns the scalar loss at the variables' current values and its
      gradient with respect to each of `variables` (same order), e.g. a `tf.function`.
    variables: the float variables to optimise; updated in place.
    maxiter: L-BFGS-B iterations (each takes one or more function evaluations).
    maxcor: number of curvature pairs kept (scipy's and TF 1's default is 10).

  Returns:
    scipy's OptimizeResult (`fun`, `nit`, `nfev`, `message`).

  Raises:
    ValueError: if `maxiter` is not positive or there are no variables.
  """
  if maxiter < 1:
    raise ValueError(f"maxiter={maxiter} must be at least 1")
  if not variables:
    raise ValueError("no variables to optimise")
  shapes = [tuple(v.shape) for v in variables]
  sizes = [int(np.prod(s)) for s in shapes]
  splits = np.cumsum(sizes)[:-1]

  def assign(x: np.ndarray) -> None:
    for v, part, shape in zip(variables, np.split(x, splits), shapes, strict=True):
      v.assign(part.reshape(shape).astype(v.dtype.as_numpy_dtype))

  def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
    assign(x)
    loss, grads = loss_and_gradients()
    flat = np.concatenate([np.zeros(n) if g is None else np.asarray(g, np.float64).ravel()
                           for g, n in zip(grads, sizes, strict=True)])
    return float(loss), flat

  x0 = np.concatenate([np.asarray(v.numpy(), np.float64).ravel() for v in variables])
  result = scipy.optimize.minimize(fun, x0, jac=True, method="L-BFGS-B",
                                   options={"maxiter": maxiter, "maxcor": maxcor})
  assign(result.x)
  return result
