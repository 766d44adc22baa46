"""Classification metrics against values worked out by hand (and scikit-learn)."""

import math

import numpy as np
import pytest
from sklearn import metrics as sk

from common.metrics import classification

Y = [0, 0, 1, 1, 2, 2]
P = [0, 1, 1, 1, 0, 2]
# confusion (row = true, col = predicted):
#   [[1, 1, 0],
#    [0, 2, 0],
#    [1, 0, 1]]
# predicted per class [2, 3, 1], true positives [1, 2, 1], support [2, 2, 2]
# precision [1/2, 2/3, 1], recall [1/2, 1, 1/2]
# f1 [1/2, 2*(2/3)*1/(5/3) = 0.8, 2*1*(1/2)/(3/2) = 2/3]; macro-F1 = (0.5 + 0.8 + 2/3) / 3


def test_accuracy_and_confusion_by_hand():
  assert classification.accuracy(Y, P) == pytest.approx(4 / 6)
  np.testing.assert_array_equal(classification.confusion_matrix(Y, P, 3),
                                [[1, 1, 0], [0, 2, 0], [1, 0, 1]])


def test_precision_recall_f1_by_hand_and_against_sklearn():
  r = classification.precision_recall_f1(Y, P, 3)
  np.testing.assert_allclose(r["precision"], [0.5, 2 / 3, 1.0])
  np.testing.assert_allclose(r["recall"], [0.5, 1.0, 0.5])
  np.testing.assert_allclose(r["f1"], [0.5, 0.8, 2 / 3])
  np.testing.assert_array_equal(r["support"], [2, 2, 2])
  assert r["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)  # 0.6556
  assert r["macro_f1"] == pytest.approx(sk.f1_score(Y, P, average="macro"))


def test_class_never_predicted_counts_as_zero_in_macro_average():
  # A 4th class exists but appears nowhere: P/R/F1 0, so macro-F1 = (0.5 + 0.8 + 2/3 + 0) / 4.
  r = classification.precision_recall_f1(Y, P, 4)
  assert r["f1"][3] == 0.0
  assert classification.macro_f1(Y, P, 4) == pytest.approx((0.5 + 0.8 + 2 / 3) / 4)


def test_scores_are_turned_into_classes_by_argmax():
  scores = np.eye(3)[P] * 0.8 + 0.1  # one-hot of P, softened
  assert classification.accuracy(Y, scores) == pytest.approx(4 / 6)


def test_cross_entropy_by_hand_from_probs_and_logits():
  # -(ln 0.5 + ln 0.75) / 2 = (0.6931 + 0.2877) / 2 = 0.4904
  probs = [[0.5, 0.5], [0.25, 0.75]]
  expected = -(math.log(0.5) + math.log(0.75)) / 2
  assert classification.cross_entropy([0, 1], probs) == pytest.approx(expected)
  logits = [[0.0, 0.0], [0.0, math.log(3.0)]]  # softmax -> the same probabilities
  assert classification.cross_entropy([0, 1], logits, from_logits=True) == pytest.approx(expected)
  assert classification.cross_entropy([0, 1], probs) == pytest.approx(sk.log_loss([0, 1], probs))


def test_confident_miss_is_finite():
  assert classification.cross_entropy([0], [[0.0, 1.0]]) == pytest.approx(-math.log(1e-12))


@pytest.mark.parametrize("fn, args, message", [
    (classification.cross_entropy, ([0, 1], [[2.0, 1.0], [0.0, 3.0]]), "pass from_logits=True"),
    (classification.cross_entropy, ([0, 2], [[0.5, 0.5], [0.5, 0.5]]), r"outside \[0, 2\)"),
    (classification.confusion_matrix, ([0, 3], [0, 1], 3), r"y_true has class ids outside \[0, 3\)"),
    (classification.accuracy, ([0, 1, 1], [0, 1]), "3 examples but y_pred has 2"),
    (classification.accuracy, ([0.5, 1.0], [0, 1]), "integer class ids"),
    (classification.accuracy, ([], []), "empty"),
])
def test_bad_inputs(fn, args, message):
  with pytest.raises(ValueError, match=message):
    fn(*args)
