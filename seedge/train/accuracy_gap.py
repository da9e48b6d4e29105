"""The warning when training and validation accuracy part: a model that learns its training
images but answers the validation images near chance (issue 14: 91.5 % vs 9.5 %) must not be
saved without a word.

The training accuracy is the running figure of the epoch (augmented images, weights still
moving), so it usually sits *below* validation accuracy in a healthy run; a gap of
GAP_POINTS in the other direction is far outside what augmentation or an epoch's drift
explain. What remains: BatchNorm statistics that do not match the weights (seedge
recalibrates them before validation, so this should not be it), overfitting a small
training set, or training and validation data that differ (labels, preprocessing, source).
"""

from __future__ import annotations

GAP_POINTS = 25.0  # training accuracy this many points above validation accuracy: warn


def accuracy_gap_warning(train_acc: float, val_acc: float, num_classes: int) -> str | None:
    """One line to print when training accuracy exceeds validation accuracy by more than
    GAP_POINTS points; None otherwise. Accuracies are fractions in [0, 1]."""
    gap = (float(train_acc) - float(val_acc)) * 100
    if gap <= GAP_POINTS:
        return None
    chance = 100.0 / max(1, int(num_classes))
    near_chance = f" (chance is {chance:.1f} %)" if val_acc * 100 < 2 * chance else ""
    return (
        f"warning: training accuracy {train_acc:.1%} but validation {val_acc:.1%}{near_chance}: "
        f"the model does not generalize; with BatchNorm statistics recalibrated, suspect overfitting "
        f"(more data, augmentation, fewer epochs) or validation images that differ from the training ones"
    )
