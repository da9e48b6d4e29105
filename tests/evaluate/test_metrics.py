"""Metrics against a hand-computed example."""

from __future__ import annotations

import math

import pytest

from seedge.evaluate.metrics import classification_metrics


def test_hand_computed_example():
    # true: a a b b c c    pred: a b b b c a
    # a: TP 1, FP 1 (the last c), FN 1 -> P 1/2, R 1/2, F1 1/2
    # b: TP 2, FP 1, FN 0               -> P 2/3, R 1,   F1 0.8
    # c: TP 1, FP 0, FN 1               -> P 1,   R 1/2, F1 2/3
    m = classification_metrics([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0], ["a", "b", "c"])
    assert m["samples"] == 6
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["precision_macro"] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert m["recall_macro"] == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    assert m["f1_macro"] == pytest.approx((1 / 2 + 0.8 + 2 / 3) / 3)
    assert [c["recall"] for c in m["per_class"]] == pytest.approx([0.5, 1.0, 0.5])
    assert [c["precision"] for c in m["per_class"]] == pytest.approx([0.5, 2 / 3, 1.0])
    assert [c["support"] for c in m["per_class"]] == [2, 2, 2]
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_absent_class_listed_but_not_in_macro():
    # class "d" occurs nowhere: per-class row with support 0, macro over a, b only
    m = classification_metrics([0, 1, 1], [0, 1, 0], ["a", "b", "c", "d"])
    assert m["per_class"][3] == {"class": "d", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["recall_macro"] == pytest.approx((1.0 + 0.5) / 2)
    assert m["precision_macro"] == pytest.approx((0.5 + 1.0) / 2)
    assert len(m["confusion_matrix"]) == 4 and m["confusion_matrix"][1] == [1, 1, 0, 0]


def test_empty_and_mismatched_inputs():
    assert math.isnan(classification_metrics([], [], ["a", "b"])["accuracy"])
    with pytest.raises(ValueError):
        classification_metrics([0, 1], [0], ["a", "b"])
