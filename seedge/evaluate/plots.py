"""The evaluation PNGs: confusion matrix and one-vs-rest ROC curves.

matplotlib's object API on an Agg canvas (no pyplot, no global backend switch), so it works
headless and leaves a caller's matplotlib setup alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MAX_LABEL = 18  # longer class names are cut (with "…") so 50 of them still fit along an axis


def save_confusion_png(cm, class_names: list[str], path: Path, title: str = "") -> Path:
    """Confusion matrix heat map with counts; readable up to ~50 classes (the figure grows with the
    class count, labels get smaller and turn vertical, counts are written while a cell can hold them)."""
    return _save(confusion_figure(cm, class_names, title), path)


def confusion_figure(cm, class_names: list[str], title: str = ""):
    cm = np.asarray(cm)
    n = len(class_names)
    side = min(20.0, 3.0 + 0.34 * n)
    fig, _canvas = _figure(side, side)
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    font = 9 if n <= 10 else 7 if n <= 25 else 6
    labels = [_short(c) for c in class_names]
    # Upright column labels only while they fit in a cell; else vertical (slanted ones crowd each other).
    upright = max((len(c) for c in labels), default=0) * font * 0.65 < side * 72 * 0.7 / n
    ax.set_xticks(range(n), labels=labels, fontsize=font, rotation=0 if upright else 90, ha="center")
    ax.set_yticks(range(n), labels=labels, fontsize=font)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title, fontsize=9)
    if n <= 50:
        thresh = cm.max() / 2 if cm.size else 0
        for i in range(n):
            for j in range(n):
                if cm[i, j] or n <= 25:  # zeros left blank in big matrices: the counts that matter stand out
                    ax.text(
                        j,
                        i,
                        str(cm[i, j]),
                        ha="center",
                        va="center",
                        fontsize=font - 1 if n > 25 else 7,
                        color="white" if cm[i, j] > thresh else "black",
                    )
    fig.tight_layout()
    return fig


def save_roc_png(curves: dict, aucs: dict, path: Path, title: str = "") -> Path:
    """One-vs-rest ROC curve per class, AUC in the legend, the chance diagonal for reference."""
    fig, _canvas = _figure(7.0, 6.0)
    ax = fig.add_subplot(1, 1, 1)
    for k, (name, c) in enumerate(curves.items()):
        ax.plot(c["fpr"], c["tpr"], lw=1.2, color=f"C{k % 10}", label=f"{_short(name)} (AUC {aucs[name]:.3f})")
    ax.plot([0, 1], [0, 1], ls="--", lw=0.8, color="gray")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7 if len(curves) <= 12 else 5, ncol=1 if len(curves) <= 12 else 2, loc="lower right")
    return _save(fig, path)


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    return fig, FigureCanvasAgg(fig)


def _save(fig, path) -> Path:
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def _short(name: str) -> str:
    return name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 1] + "…"
