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


def test_weighted_averages_and_one_vs_rest_auc():
    # true: a a a b     pred: a a b b    weighted = by support (3, 1)
    y, pred = [0, 0, 0, 1], [0, 0, 1, 1]
    scores = [[0.9, 0.1], [0.8, 0.2], [0.4, 0.6], [0.3, 0.7]]
    m = classification_metrics(y, pred, ["a", "b"], scores=scores)
    # a: P 1, R 2/3, F1 0.8;  b: P 1/2, R 1, F1 2/3
    assert m["precision_weighted"] == pytest.approx((3 * 1 + 1 * 0.5) / 4)
    assert m["recall_weighted"] == pytest.approx((3 * 2 / 3 + 1 * 1) / 4) == m["accuracy"]
    assert m["f1_weighted"] == pytest.approx((3 * 0.8 + 2 / 3) / 4)
    # class b's scores: 0.7 ranks above all three a's (0.1, 0.2, 0.6): AUC 1 for both one-vs-rest sides
    assert [c["auc"] for c in m["per_class"]] == pytest.approx([1.0, 1.0])
    assert m["roc_auc_macro"] == m["roc_auc_weighted"] == pytest.approx(1.0)
    assert m["roc_curves"]["b"]["tpr"][-1] == 1.0


def test_auc_undefined_for_a_class_without_samples():
    scores = [[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.5, 0.4, 0.1], [0.1, 0.8, 0.1]]
    m = classification_metrics([0, 1, 0, 1], [0, 1, 0, 1], ["a", "b", "c"], scores=scores)
    assert m["per_class"][2]["auc"] is None and "c" not in m["roc_curves"]
    assert m["per_class"][0]["auc"] == pytest.approx(1.0)
    # b vs rest: b scores 0.5, 0.8 over a's 0.3, 0.4: separable
    assert m["roc_auc_macro"] == pytest.approx(1.0)


@pytest.mark.parametrize("n", [4, 20, 50])
def test_confusion_matrix_labels_do_not_run_together(n):
    import numpy as np

    from seedge.evaluate.plots import confusion_figure

    names = [f"class_with_a_long_name_{i:02d}" for i in range(n)]
    fig = confusion_figure(np.eye(n, dtype=int) * 3, names)
    fig.canvas.draw()
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    for labels, axis in ((ax.get_xticklabels(), 0), (ax.get_yticklabels(), 1)):
        boxes = [t.get_window_extent(renderer) for t in labels if t.get_text()]
        assert len(boxes) == n
        spans = sorted((b.x0, b.x1) if axis == 0 else (b.y0, b.y1) for b in boxes)
        assert all(a[1] <= b[0] + 0.5 for a, b in zip(spans, spans[1:])), f"{n} classes: labels overlap"
        assert all(b.width < 200 for b in boxes)  # long names are cut
