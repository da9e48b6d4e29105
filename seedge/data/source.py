"""A data source: labelled items in train/val/test splits plus the class names.

Each kind of SRC (digits, shapes, ImageFolder, CSV) only lists raw rows
(item, label string, origin); `build_source` does the rest the same way for all:
split when the source has no explicit splits, fix the class order, encode labels, and
reject labels the training split never saw.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from seedge.data.splits import (
    DEFAULT_FRACTIONS,
    SPLIT_ALIASES,
    SPLIT_SEED,
    describe_fractions,
    sorted_labels,
    stratified_split,
    subsample,
)
from seedge.errors import SeedgeError


@dataclass(frozen=True)
class SourceOptions:
    """How to read a source, where guessing is not enough.

    path_column / label_column / split_column: CSV header names (case-insensitive); None
    picks them by name (see seedge.data.csvfile). fractions: (train, val, test) for a source
    without explicit splits; None is DEFAULT_FRACTIONS. A training run records these
    (`to_dict`) so evaluate and export read its data the same way.
    """

    path_column: str | None = None
    label_column: str | None = None
    split_column: str | None = None
    fractions: tuple[float, float, float] | None = None

    @property
    def columns(self) -> dict[str, str]:
        """The CSV columns the user named: {"--path-column": "Image_path", ...}."""
        return {
            f"--{k.replace('_', '-')}": v
            for k, v in (
                ("path_column", self.path_column),
                ("label_column", self.label_column),
                ("split_column", self.split_column),
            )
            if v
        }

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict | None) -> SourceOptions:
        d = dict(d or {})
        if d.get("fractions") is not None:
            d["fractions"] = tuple(float(f) for f in d["fractions"])
        return cls(**{k: d.get(k) for k in ("path_column", "label_column", "split_column", "fractions")})

    def merged_over(self, base: SourceOptions | None) -> SourceOptions:
        """These options, with `base`'s (e.g. a training run's) where these leave one unset."""
        if base is None:
            return self
        return SourceOptions(
            **{
                k: getattr(self, k) if getattr(self, k) is not None else getattr(base, k)
                for k in ("path_column", "label_column", "split_column", "fractions")
            }
        )


@dataclass(frozen=True)
class Row:
    item: object  # Path, uint8 array, or an object with .load() -> PIL image
    label: str
    origin: str  # where the row came from, for error messages ("data.csv row 7", a folder)


@dataclass
class Samples:
    """One split: items and integer labels indexing the source's class_names."""

    items: list
    labels: np.ndarray
    origins: list[str]
    name: str = ""

    def __len__(self) -> int:
        return len(self.items)

    def take(self, idx) -> Samples:
        idx = [int(i) for i in idx]
        return Samples([self.items[i] for i in idx], self.labels[idx], [self.origins[i] for i in idx], self.name)

    def limit(self, limit: int | None, seed: int = 0) -> Samples:
        return self.take(subsample(len(self), limit, seed)) if limit is not None else self


@dataclass
class Source:
    name: str  # the SRC string as given
    kind: str  # digits | shapes | imagefolder | csv
    class_names: list[str]
    splits: dict[str, Samples]
    notes: list[str] = field(default_factory=list)  # e.g. "test split: taken from val/ (no test/)"
    layout: dict = field(default_factory=dict)  # how it was read, e.g. CSV columns and delimiter

    def split(self, name: str) -> Samples:
        key = SPLIT_ALIASES.get(name)
        if key is None:
            raise SeedgeError(f"unknown split '{name}'; use train, val or test")
        if key not in self.splits:
            raise SeedgeError(f"{self.name}: has no {key} split (it has {', '.join(self.splits) or 'none'})")
        return self.splits[key]

    def notes_line(self, src=None) -> str | None:
        """The one line every command prints first about its data: which CSV columns, delimiter
        and splits it uses (None when there is nothing to say, e.g. digits)."""
        return f"data: {src or self.name}: {'; '.join(self.notes)}" if self.notes else None

    def describe(self) -> dict:
        return {
            "source": self.name,
            "kind": self.kind,
            "class_names": list(self.class_names),
            "splits": {k: len(v) for k, v in self.splits.items()},
            "notes": list(self.notes),
            **({"layout": dict(self.layout)} if self.layout else {}),
        }


def build_source(
    name: str,
    kind: str,
    raw: dict[str, list[Row]],
    class_names: list[str] | None = None,
    split_seed: int = SPLIT_SEED,
    fractions: tuple[float, float, float] | None = None,
) -> Source:
    """raw: {"all": rows} (split here by `fractions`, train/val/test) or any of {"train", "val", "test"}
    (explicit splits; a missing val or test is carved from train with the same fractions)."""
    notes: list[str] = []
    f_train, f_val, f_test = fractions or DEFAULT_FRACTIONS
    how = f"stratified, seed {split_seed}"
    raw = {k: v for k, v in raw.items() if v}
    if not raw:
        raise SeedgeError(f"{name}: no labelled images found")
    if "all" in raw:
        raw = _split_rows(raw["all"], {"val": f_val, "test": f_test}, split_seed)
        notes.append(f"split {describe_fractions((f_train, f_val, f_test))} train/val/test, {how}")
    elif "train" in raw:
        if "val" not in raw and "test" not in raw:
            raw = _split_rows(raw["train"], {"val": f_val, "test": f_test}, split_seed)
            notes.append(
                f"only a train split: val and test carved from it "
                f"({describe_fractions((f_train, f_val, f_test))}, {how})"
            )
        elif "val" not in raw:
            parts = _split_rows(raw["train"], {"val": f_val / (f_train + f_val)}, split_seed)
            raw = {**raw, **parts}
            notes.append(f"no val split: {f_val / (f_train + f_val):.1%} of train carved off as val ({how})")
        elif "test" not in raw:
            raw = {**raw, "test": raw["val"]}
            notes.append("no test split: test uses the val split")
    elif fractions is not None:
        notes.append("--split fractions not used: the source has its own splits")
    classes = (
        list(class_names)
        if class_names
        else sorted_labels(r.label for r in raw.get("train", [r for rows in raw.values() for r in rows]))
    )
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
                raise SeedgeError(
                    f"{r.origin}: label '{r.label}' does not occur in {seen} "
                    f"(classes: {_short(classes)}); fix the label or the class list"
                )
        splits[part] = Samples(
            [r.item for r in rows],
            np.array([index[r.label] for r in rows], dtype=np.int64),
            [r.origin for r in rows],
            part,
        )
    return Source(name, kind, classes, splits, notes)


def _split_rows(rows: list[Row], fractions: dict[str, float], seed: int) -> dict[str, list[Row]]:
    parts = stratified_split([r.label for r in rows], fractions, seed)
    return {k: [rows[i] for i in idx] for k, idx in parts.items()}


def _short(names: list[str], n: int = 12) -> str:
    return ", ".join(names[:n]) + (f", ... ({len(names)} in all)" if len(names) > n else "")
