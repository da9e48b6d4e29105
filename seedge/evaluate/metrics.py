"""Classification metrics from labels, predictions and (optionally) class scores (scikit-learn).

Macro averages are over the classes that occur in y_true or y_pred (scikit-learn's
default), so a class absent from a small test split does not count as a zero; weighted
averages weight each class by its support (what seed 002 reports); the per-class table lists
every class, with support 0 where it never occurs.

With scores (softmax probabilities, N x classes), ROC-AUC is computed one-vs-rest per class
(the class against all others), for every class that has both positive and negative samples
in y_true; its macro and support-weighted means are over those classes, and the ROC curve
points (scikit-learn's, intermediate points dropped) come along for plotting.
"""

from __future__ import annotations

import numpy as np


def classification_metrics(y_true, y_pred, class_names: list[str] | None = None, scores=None) -> dict:
    """accuracy, macro and weighted precision/recall/F1, per-class precision/recall/F1/support (and
    ROC-AUC with `scores`), confusion matrix, and with `scores` roc_auc_macro/weighted and roc_curves.

    confusion_matrix[i][j] counts samples of true class i predicted as class j.
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y_true = np.asarray(y_true, dtype=np.int64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.int64).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} labels but y_pred {y_pred.size}")
    n_classes = len(class_names) if class_names else int(max(y_true.max(initial=-1), y_pred.max(initial=-1)) + 1)
    names = list(class_names) if class_names else [str(i) for i in range(n_classes)]
    labels = list(range(n_classes))
    present = sorted(set(y_true.tolist()) | set(y_pred.tolist()))
    if y_true.size == 0:
        nan = float("nan")
        return {
            "samples": 0,
            "accuracy": nan,
            "precision_macro": nan,
            "recall_macro": nan,
            "f1_macro": nan,
            "precision_weighted": nan,
            "recall_weighted": nan,
            "f1_weighted": nan,
            "class_names": names,
            "per_class": [],
            "confusion_matrix": [[0] * n_classes for _ in range(n_classes)],
        }
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    averages = {}
    for average in ("macro", "weighted"):
        ap, ar, af, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=present, average=average, zero_division=0
        )
        averages.update({f"precision_{average}": float(ap), f"recall_{average}": float(ar), f"f1_{average}": float(af)})
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    result = {
        "samples": int(y_true.size),
        "accuracy": float((y_true == y_pred).mean()),
        **averages,
        "class_names": names,
        "per_class": [
            {
                "class": names[i],
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(s[i]),
            }
            for i in labels
        ],
        "confusion_matrix": cm.astype(int).tolist(),
    }
    if scores is not None:
        result.update(roc_metrics(y_true, scores, names, result["per_class"]))
    return result


def roc_metrics(y_true: np.ndarray, scores, names: list[str], per_class: list[dict]) -> dict:
    """One-vs-rest ROC-AUC per class (added to `per_class` as "auc", None where undefined), their macro
    and support-weighted means, and the curves {class: {"fpr": [...], "tpr": [...]}}."""
    from sklearn.metrics import roc_auc_score, roc_curve

    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (len(y_true), len(names)):
        raise ValueError(f"scores must be {len(y_true)} x {len(names)}, got {scores.shape}")
    aucs, weights, curves = [], [], {}
    for i, row in enumerate(per_class):
        positive = y_true == i
        if positive.all() or not positive.any():  # one-vs-rest needs both sides
            row["auc"] = None
            continue
        row["auc"] = float(roc_auc_score(positive, scores[:, i]))
        fpr, tpr, _ = roc_curve(positive, scores[:, i])
        curves[names[i]] = {"fpr": [round(float(v), 6) for v in fpr], "tpr": [round(float(v), 6) for v in tpr]}
        aucs.append(row["auc"])
        weights.append(int(positive.sum()))
    if not aucs:
        return {"roc_auc_macro": None, "roc_auc_weighted": None, "roc_curves": {}}
    return {
        "roc_auc_macro": float(np.mean(aucs)),
        "roc_auc_weighted": float(np.average(aucs, weights=weights)),
        "roc_curves": curves,
    }
