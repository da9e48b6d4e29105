"""CSV sources: rows of `path,label` (an optional header; an optional `split` column).

Paths are resolved under a root folder (default: the CSV's folder; absolute paths are
used as they are). Splits come from, in this order: a `split` column (train/val/test),
sibling files named like the CSV with `train` replaced by `val`/`valid`/`test`
(train.csv + val.csv + test.csv), or a seeded stratified split of all rows.

A first row is a header when its path cell has no image extension (e.g.
`Image_path,Plane`); named columns `path`/`image`/`file`... and `label`/`class`/`target`
are then picked by name.
"""

from __future__ import annotations

import csv
from pathlib import Path

from seedge.data.images import IMAGE_EXTENSIONS
from seedge.data.source import Row, Source, build_source
from seedge.data.splits import SPLIT_ALIASES
from seedge.errors import SeedgeError

_PATH_NAMES = ("path", "image", "image_path", "img", "file", "filename", "filepath", "file_path")
_LABEL_NAMES = ("label", "class", "target", "category", "y")


def open_csv(path: Path, root: Path | None = None, class_names: list[str] | None = None) -> Source:
    path = Path(path)
    if not path.is_file():  # a FIFO or device named *.csv would block the reader forever
        raise SeedgeError(f"{path}: not a regular file; pass a CSV file of path,label rows")
    root = Path(root) if root else path.parent
    if not root.is_dir():
        raise SeedgeError(f"{root}: data root folder not found")
    siblings = _split_siblings(path)
    if siblings:
        raw = {}
        for part, f in siblings.items():
            rows, has_split = _read_rows(f, root)
            if has_split:
                raise SeedgeError(f"{f}: has a split column but split files were found too; use one or the other")
            raw[part] = [r for r, _ in rows]
    else:
        rows, has_split = _read_rows(path, root)
        if has_split:
            raw = {"train": [], "val": [], "test": []}
            for r, part in rows:
                raw[part].append(r)
        else:
            raw = {"all": [r for r, _ in rows]}
    return build_source(str(path), "csv", raw, class_names)


def _split_siblings(path: Path) -> dict[str, Path]:
    stem = path.stem
    if "train" not in stem.lower():
        return {}
    i = stem.lower().index("train")
    found = {"train": path}
    for alias in (a for a in SPLIT_ALIASES if SPLIT_ALIASES[a] != "train"):
        cand = path.with_name(stem[:i] + alias + stem[i + 5:] + path.suffix)
        try:
            sibling = cand.is_file()
        except OSError:  # the sibling's name would be too long: there is none
            sibling = False
        if sibling:
            part = SPLIT_ALIASES[alias]
            if part in found:
                raise SeedgeError(f"{cand}: a second {part} file next to {found[part].name}; keep one")
            found[part] = cand
    return found if len(found) > 1 else {}


def _regular_file(p: Path, where: str) -> bool:
    """Whether a listed image exists as a regular file; a path no file can have (a NUL byte, a
    name over the file system's limit) is a SeedgeError naming the row, not an OSError."""
    if "\x00" in str(p):
        raise SeedgeError(f"{where}: the image path holds a NUL byte; fix the row")
    try:
        return p.is_file()
    except OSError as e:
        raise SeedgeError(f"{where}: image path {str(p)[:80]}... cannot be used ({e.strerror or e}); "
                          f"fix the row") from None


def _read_rows(path: Path, root: Path) -> tuple[list[tuple[Row, str | None]], bool]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            table = [(i + 1, row) for i, row in enumerate(csv.reader(f))
                     if row and any(c.strip() for c in row) and not row[0].lstrip().startswith("#")]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise SeedgeError(f"{path}: cannot read CSV ({e})") from None
    if not table:
        raise SeedgeError(f"{path}: CSV holds no rows; expected path,label rows")
    pcol, lcol, scol = 0, 1, None
    first = [c.strip() for c in table[0][1]]
    if Path(first[0]).suffix.lower() not in IMAGE_EXTENSIONS:  # a header row
        names = [c.lower() for c in first]
        pcol = next((i for i, c in enumerate(names) if c in _PATH_NAMES), 0)
        lcol = next((i for i, c in enumerate(names) if c in _LABEL_NAMES), 1 if pcol != 1 else 0)
        scol = names.index("split") if "split" in names else None
        table = table[1:]
        if not table:
            raise SeedgeError(f"{path}: CSV has a header but no rows")
    need = max(pcol, lcol, scol if scol is not None else 0) + 1
    out = []
    for lineno, row in table:
        where = f"{path} row {lineno}"
        if len(row) < need:
            raise SeedgeError(f"{where}: expected at least {need} columns (path,label), got {len(row)}")
        rel, label = row[pcol].strip(), row[lcol].strip()
        if not rel:
            raise SeedgeError(f"{where}: empty image path")
        if not label:
            raise SeedgeError(f"{where}: empty label for {rel}")
        img = Path(rel) if Path(rel).is_absolute() else root / rel
        if not _regular_file(img, where):
            raise SeedgeError(f"{where}: image {rel} not found under {root}; fix the path or pass --data-root")
        part = None
        if scol is not None:
            part = SPLIT_ALIASES.get(row[scol].strip().lower())
            if part is None:
                raise SeedgeError(f"{where}: split '{row[scol].strip()}' is not train, val or test")
        out.append((Row(img, label, where), part))
    return out, scol is not None
