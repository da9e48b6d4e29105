"""Seeded stratified splits and the stable label order every source uses.

A source without explicit train/val/test parts is split here with a fixed seed
(SPLIT_SEED), so `seedge train`, `seedge evaluate` and `seedge export --calib` all see
the same test images without being told which ones. The fractions default to 70/10/20
train/val/test (DEFAULT_FRACTIONS); `--split 0.64,0.16,0.2` sets others, and a training
run records them so evaluate and export split the same way.
"""

from __future__ import annotations

import numpy as np

SPLIT_SEED = 0
VAL_FRACTION = 0.1
TEST_FRACTION = 0.2
DEFAULT_FRACTIONS = (1 - VAL_FRACTION - TEST_FRACTION, VAL_FRACTION, TEST_FRACTION)  # train, val, test
# Every split name a user may give (a CLI --split, an ImageFolder subfolder, a CSV column) -> the split.
SPLIT_ALIASES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
SPLITS = tuple(SPLIT_ALIASES)


def parse_fractions(text) -> tuple[float, float, float]:
    """'0.64,0.16,0.2' (or '64,16,20', percent) -> (train, val, test) fractions summing to 1.

    train and val must be positive (training needs both); test may be 0 (no test split).
    """
    from seedge.errors import SeedgeError

    hint = "give train,val,test fractions that sum to 1, e.g. 0.64,0.16,0.2"
    parts = text.split(",") if isinstance(text, str) else list(text)
    try:
        values = [float(p) for p in parts]
    except (TypeError, ValueError):
        raise SeedgeError(f"split fractions {text!r}: not numbers; {hint}") from None
    if len(values) != 3 or not all(np.isfinite(values)) or min(values) < 0:
        raise SeedgeError(f"split fractions {text!r}: {hint}")
    total = sum(values)
    if abs(total - 100) < 1e-6:  # percentages
        values, total = [v / 100 for v in values], 1.0
    if abs(total - 1) > 1e-6:
        raise SeedgeError(f"split fractions {text!r}: they sum to {total:g}; {hint}")
    if values[0] <= 0 or values[1] <= 0:
        raise SeedgeError(f"split fractions {text!r}: train and val must be more than 0; {hint}")
    return values[0], values[1], values[2]


def describe_fractions(fractions) -> str:
    """(0.64, 0.16, 0.2) -> '64/16/20'."""
    return "/".join(f"{f * 100:.4g}" for f in fractions)


def sorted_labels(labels) -> list[str]:
    """Unique labels in a stable order: numeric when every label is an integer, else lexical."""
    uniq = {str(x) for x in labels}
    try:
        return sorted(uniq, key=lambda s: (int(s), s))
    except ValueError:
        return sorted(uniq)


def stratified_split(labels, fractions: dict[str, float], seed: int = SPLIT_SEED) -> dict[str, np.ndarray]:
    """Split indices per class by `fractions` (e.g. {"val": .1, "test": .2}); the rest is "train".

    Every class keeps at least one training sample; small classes may get no val/test
    sample. Indices in each part are sorted, so the order does not depend on the seed.
    """
    labels = np.asarray([str(x) for x in labels])
    rng = np.random.default_rng(seed)
    parts: dict[str, list[int]] = {"train": [], **{k: [] for k in fractions}}
    for cls in sorted_labels(labels):
        idx = np.flatnonzero(labels == cls)
        idx = idx[rng.permutation(len(idx))]
        n = len(idx)
        counts = {k: int(round(n * f)) for k, f in fractions.items()}
        for k in reversed(list(counts)):  # keep one training sample: trim later parts first
            while counts[k] > 0 and n - sum(counts.values()) < 1:
                counts[k] -= 1
        start = 0
        for k, c in counts.items():
            parts[k].extend(idx[start : start + c].tolist())
            start += c
        parts["train"].extend(idx[start:].tolist())
    return {k: np.array(sorted(v), dtype=np.int64) for k, v in parts.items()}


def subsample(n: int, limit: int | None, seed: int) -> np.ndarray:
    """`limit` of `n` indices chosen with `seed`, in ascending order (all when limit is None)."""
    if limit is None or limit >= n:
        return np.arange(n)
    if limit < 1:
        from seedge.errors import SeedgeError

        raise SeedgeError(f"--limit must be at least 1, got {limit}")
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))
