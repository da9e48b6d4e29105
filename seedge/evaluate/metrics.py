"""Classification metrics from labels and predictions (numpy + scikit-learn).

Macro averages are over the classes that occur in y_true or y_pred (scikit-learn's
default), so a class absent from a small test split does not count as a zero; the
per-class table lists every class, with support 0 where it never occurs.
"""

from __future__ import annotations

import numpy as np


def classification_metrics(y_true, y_pred, class_names: list[str] | None = None) -> dict:
    """accuracy, macro precision/recall/F1, per-class precision/recall/F1/support, confusion matrix.

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
        return {"samples": 0, "accuracy": float("nan"), "precision_macro": float("nan"),
                "recall_macro": float("nan"), "f1_macro": float("nan"), "class_names": names,
                "per_class": [], "confusion_matrix": [[0] * n_classes for _ in range(n_classes)]}
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    pm, rm, fm, _ = precision_recall_fscore_support(y_true, y_pred, labels=present, average="macro",
                                                    zero_division=0)
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    return {
        "samples": int(y_true.size),
        "accuracy": float((y_true == y_pred).mean()),
        "precision_macro": float(pm),
        "recall_macro": float(rm),
        "f1_macro": float(fm),
        "class_names": names,
        "per_class": [{"class": names[i], "precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                       "support": int(s[i])} for i in labels],
        "confusion_matrix": cm.astype(int).tolist(),
    }
