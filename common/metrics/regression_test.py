"""Regression metrics against values worked out by hand."""

import numpy as np
import pytest

from common.metrics import regression

# errors p - y: [1, 0, 2, -4]; squared: [1, 0, 4, 16] (sum 21); absolute sum 7.
Y = [1.0, 2.0, 3.0, 4.0]
P = [2.0, 2.0, 5.0, 0.0]


def test_values_by_hand():
  assert regression.mse(Y, P) == pytest.approx(21 / 4)
  assert regression.rmse(Y, P) == pytest.approx(np.sqrt(5.25))  # 2.2913
  assert regression.mae(Y, P) == pytest.approx(7 / 4)


def test_forecast_windows_average_over_every_element():
  # The same four errors as two windows of horizon 2.
  y, p = np.reshape(Y, (2, 2)), np.reshape(P, (2, 2))
  assert regression.rmse(y, p) == pytest.approx(np.sqrt(5.25))
  assert regression.mae(y, p) == pytest.approx(1.75)


def test_perfect_prediction_is_zero():
  assert regression.rmse(Y, Y) == 0.0 and regression.mae(Y, Y) == 0.0


@pytest.mark.parametrize("y, p, message", [
    ([1.0, 2.0], [[1.0, 2.0]], r"shape \(2,\) but y_pred has \(1, 2\)"),
    ([], [], "y_true is empty"),
    ([1.0, np.nan], [1.0, 2.0], "NaN or inf"),
])
def test_bad_inputs(y, p, message):
  with pytest.raises(ValueError, match=message):
    regression.rmse(y, p)
