"""A data source: labelled items in train/val/test splits plus the class names.

Each kind of SRC (digits, shapes, ImageFolder, CSV) only lists raw rows
(item, label string, origin); `build_source` does the rest the same way for all:
split when the source has no explicit splits, fix the class order, encode labels, and
reject labels the training split never saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from seedge.data.splits import (SPLIT_ALIASES, SPLIT_SEED, TEST_FRACTION, VAL_FRACTION, sorted_labels,
                                stratified_split, subsample)
from seedge.errors import SeedgeError


@dataclass(frozen=True)
class Row:
    item: object        # Path, uint8 array, or an object with .load() -> PIL image
    label: str
    origin: str         # where the row came from, for error messages ("data.csv row 7", a folder)


@dataclass
class Samples:
    """One split: items and integer labels indexing the source's class_names."""

    items: list
    labels: np.ndarray
    origins: list[str]
    name: str = ""

    def __len__(self) -> int:
        return len(self.items)

    def take(self, idx) -> "Samples":
        idx = [int(i) for i in idx]
        return Samples([self.items[i] for i in idx], self.labels[idx], [self.origins[i] for i in idx], self.name)

    def limit(self, limit: int | None, seed: int = 0) -> "Samples":
        return self.take(subsample(len(self), limit, seed)) if limit is not None else self


@dataclass
class Source:
    name: str                    # the SRC string as given
    kind: str                    # digits | shapes | imagefolder | csv
    class_names: list[str]
    splits: dict[str, Samples]
    notes: list[str] = field(default_factory=list)  # e.g. "test split: taken from val/ (no test/)"

    def split(self, name: str) -> Samples:
        key = SPLIT_ALIASES.get(name)
        if key is None:
            raise SeedgeError(f"unknown split '{name}'; use train, val or test")
        if key not in self.splits:
            raise SeedgeError(f"{self.name}: has no {key} split (it has {', '.join(self.splits) or 'none'})")
        return self.splits[key]

    def describe(self) -> dict:
        return {"source": self.name, "kind": self.kind, "class_names": list(self.class_names),
                "splits": {k: len(v) for k, v in self.splits.items()}, "notes": list(self.notes)}


def build_source(name: str, kind: str, raw: dict[str, list[Row]], class_names: list[str] | None = None,
                 split_seed: int = SPLIT_SEED) -> Source:
    """raw: {"all": rows} (split here) or any of {"train", "val", "test"} (explicit splits)."""
    notes: list[str] = []
    raw = {k: v for k, v in raw.items() if v}
    if not raw:
        raise SeedgeError(f"{name}: no labelled images found")
    if "all" in raw:
        raw = _split_rows(raw["all"], {"val": VAL_FRACTION, "test": TEST_FRACTION}, split_seed)
        notes.append(f"split {int((1 - VAL_FRACTION - TEST_FRACTION) * 100)}/{int(VAL_FRACTION * 100)}/"
                     f"{int(TEST_FRACTION * 100)} train/val/test, stratified, seed {split_seed}")
    elif "train" in raw:
        if "val" not in raw and "test" not in raw:
            raw = _split_rows(raw["train"], {"val": VAL_FRACTION, "test": TEST_FRACTION}, split_seed)
            notes.append(f"only a train split: val and test carved from it (stratified, seed {split_seed})")
        elif "val" not in raw:
            parts = _split_rows(raw["train"], {"val": VAL_FRACTION / (1 - TEST_FRACTION)}, split_seed)
            raw = {**raw, **parts}
            notes.append(f"no val split: carved from train (stratified, seed {split_seed})")
        elif "test" not in raw:
            raw = {**raw, "test": raw["val"]}
            notes.append("no test split: test uses the val split")
    classes = list(class_names) if class_names else sorted_labels(
        r.label for r in raw.get("train", [r for rows in raw.values() for r in rows]))
    if len(set(classes)) != len(classes):
        raise SeedgeError(f"{name}: class names repeat: {', '.join(classes)}")
    index = {c: i for i, c in enumerate(classes)}
    splits = {}
    for part in ("train", "val", "test"):
        rows = raw.get(part)
        if rows is None:
            continue
        for r in rows:
            if r.label not in index:
                seen = "the given class list" if class_names else "the training split"
                raise SeedgeError(f"{r.origin}: label '{r.label}' does not occur in {seen} "
                                  f"(classes: {_short(classes)}); fix the label or the class list")
        splits[part] = Samples([r.item for r in rows], np.array([index[r.label] for r in rows], dtype=np.int64),
                               [r.origin for r in rows], part)
    return Source(name, kind, classes, splits, notes)


def _split_rows(rows: list[Row], fractions: dict[str, float], seed: int) -> dict[str, list[Row]]:
    parts = stratified_split([r.label for r in rows], fractions, seed)
    return {k: [rows[i] for i in idx] for k, idx in parts.items()}


def _short(names: list[str], n: int = 12) -> str:
    return ", ".join(names[:n]) + (f", ... ({len(names)} in all)" if len(names) > n else "")
