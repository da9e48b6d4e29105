"""CSV sources: rows of an image path and a label (an optional header; an optional split column).

Paths are resolved under a root folder (default: the CSV's folder; absolute paths are
used as they are). Splits come from, in this order: a split column (train/val/test),
sibling files named like the CSV with `train` replaced by `val`/`valid`/`test`
(train.csv + val.csv + test.csv), or a seeded stratified split of all rows (fractions:
SourceOptions.fractions, default 70/10/20).

The delimiter is sniffed among `,` `;` tab `|`. A first row is a header when none of its
cells names an image file (e.g. `Image_path,Plane`). Columns are picked, in this order,
by --path-column/--label-column/--split-column, by a known name (case and `_`/`-`/space
ignored: path/image/image_path/file..., label/class/target/y/plane/category...,
split/subset), or -- in a two-column file only -- by position. A file with more columns
and no recognisable label column is an error that lists its columns: guessing there
would train on whatever column happens to come second.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from seedge.data.images import IMAGE_EXTENSIONS
from seedge.data.source import Row, Source, SourceOptions, build_source
from seedge.data.splits import SPLIT_ALIASES
from seedge.errors import SeedgeError
from seedge.fileio import path_kind

# Header names, compared after _key() (lower case, only letters and digits), in order of preference.
_PATH_NAMES = (
    "path",
    "imagepath",
    "image",
    "img",
    "imgpath",
    "file",
    "filename",
    "filepath",
    "imagefile",
    "imagename",
    "imgname",
)
_LABEL_NAMES = ("label", "labels", "class", "classname", "classlabel", "target", "y", "plane", "category")
_SPLIT_NAMES = ("split", "subset")
DELIMITERS = ",;\t|"
_SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class Columns:
    """Where path, label and split sit in a CSV's rows (0-based), and how it was read."""

    path: int
    label: int
    split: int | None
    names: tuple[str, ...]  # header names, or "column 1".. for a file without a header
    header: bool
    delimiter: str

    def describe(self) -> dict:
        return {
            "delimiter": self.delimiter,
            "header": self.header,
            "path_column": self.names[self.path],
            "label_column": self.names[self.label],
            "split_column": self.names[self.split] if self.split is not None else None,
        }


def open_csv(
    path: Path, root: Path | None = None, class_names: list[str] | None = None, options: SourceOptions | None = None
) -> Source:
    options = options or SourceOptions()
    path = Path(path)
    if not path.is_file():  # a FIFO or device named *.csv would block the reader forever
        raise SeedgeError(f"{path}: not a regular file; pass a CSV file of path,label rows")
    root = Path(root) if root else path.parent
    if not root.is_dir():
        raise SeedgeError(f"{root}: data root folder not found")
    siblings = _split_siblings(path)
    if siblings:
        raw: dict = {}
        for part, f in siblings.items():
            rows, cols = _read_rows(f, root, options)
            if cols.split is not None:
                raise SeedgeError(f"{f}: has a split column but split files were found too; use one or the other")
            raw[part] = [r for r, _ in rows]
            if part == "train":
                layout = cols.describe()
        layout["split_files"] = {k: v.name for k, v in siblings.items()}
    else:
        rows, cols = _read_rows(path, root, options)
        layout = cols.describe()
        if cols.split is not None:
            raw = {"train": [], "val": [], "test": []}
            for r, split in rows:
                raw[split].append(r)
        else:
            raw = {"all": [r for r, _ in rows]}
    source = build_source(str(path), "csv", raw, class_names, fractions=options.fractions)
    source.layout = layout
    source.notes.insert(0, describe_layout(layout))
    return source


def describe_layout(layout: dict) -> str:
    """One line: which columns were read and how, e.g. "columns: path 'Image_path', label 'Plane' (';')"."""
    delim = {"\t": "tab", ",": "','", ";": "';'", "|": "'|'"}.get(layout["delimiter"], repr(layout["delimiter"]))
    parts = [f"path '{layout['path_column']}'", f"label '{layout['label_column']}'"]
    if layout.get("split_column"):
        parts.append(f"split '{layout['split_column']}'")
    where = f"split files {', '.join(layout['split_files'].values())}" if layout.get("split_files") else ""
    return f"columns: {', '.join(parts)} ({delim}-separated{', no header' if not layout['header'] else ''})" + (
        f"; {where}" if where else ""
    )


def _split_siblings(path: Path) -> dict[str, Path]:
    stem = path.stem
    if "train" not in stem.lower():
        return {}
    i = stem.lower().index("train")
    found = {"train": path}
    for alias in (a for a in SPLIT_ALIASES if SPLIT_ALIASES[a] != "train"):
        cand = path.with_name(stem[:i] + alias + stem[i + 5 :] + path.suffix)
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
        raise SeedgeError(
            f"{where}: image path {str(p)[:80]}... cannot be used ({e.strerror or e}); fix the row"
        ) from None


def _read_rows(path: Path, root: Path, options: SourceOptions) -> tuple[list[tuple[Row, str | None]], Columns]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            delimiter = _sniff_delimiter(f.read(_SNIFF_BYTES))
            f.seek(0)
            table = [
                (i + 1, row)
                for i, row in enumerate(csv.reader(f, delimiter=delimiter))
                if row and any(c.strip() for c in row) and not row[0].lstrip().startswith("#")
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise SeedgeError(f"{path}: cannot read CSV ({e})") from None
    if not table:
        raise SeedgeError(f"{path}: CSV holds no rows; expected path,label rows")
    first = [c.strip() for c in table[0][1]]
    header = not any(_is_image_name(c) for c in first)
    if header:
        table = table[1:]
        if not table:
            raise SeedgeError(f"{path}: CSV has a header but no rows")
    cols = _pick_columns(path, first if header else None, [c.strip() for c in table[0][1]], options, delimiter)
    need = max(cols.path, cols.label, cols.split if cols.split is not None else 0) + 1
    out = []
    for lineno, row in table:
        where = f"{path} row {lineno}"
        if len(row) < need:
            raise SeedgeError(f"{where}: expected at least {need} columns (path,label), got {len(row)}")
        rel, label = row[cols.path].strip(), row[cols.label].strip()
        if not rel:
            raise SeedgeError(f"{where}: empty image path")
        if not label:
            raise SeedgeError(f"{where}: empty label for {rel}")
        img = Path(rel) if Path(rel).is_absolute() else root / rel
        if not _regular_file(img, where):
            kind = path_kind(img)
            if kind != "not found":  # a FIFO, device, folder or symlink loop: say which, not "not found"
                raise SeedgeError(f"{where}: image {rel} is {kind}, not an image file; fix the row")
            raise SeedgeError(f"{where}: image {rel} not found under {root}; fix the path or pass --data-root")
        part = None
        if cols.split is not None:
            part = SPLIT_ALIASES.get(row[cols.split].strip().lower())
            if part is None:
                raise SeedgeError(f"{where}: split '{row[cols.split].strip()}' is not train, val or test")
        out.append((Row(img, label, where), part))
    return out, cols


def _sniff_delimiter(sample: str) -> str:
    """The delimiter among DELIMITERS that splits the first lines consistently (',' when unsure)."""
    lines = [ln for ln in sample.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        return ","
    if len(sample) == _SNIFF_BYTES and len(lines) > 1:  # the last line may be cut short
        lines = lines[:-1]
    try:
        return csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=DELIMITERS).delimiter
    except csv.Error:  # e.g. one column, or no consistent delimiter: the csv module's default
        return ","


def _is_image_name(cell: str) -> bool:
    return Path(cell).suffix.lower() in IMAGE_EXTENSIONS


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _pick_columns(
    path: Path, header: list[str] | None, first_row: list[str], options: SourceOptions, delimiter: str
) -> Columns:
    n = len(header) if header is not None else len(first_row)
    names = tuple(header) if header is not None else tuple(f"column {i + 1}" for i in range(max(n, 2)))
    listed = ", ".join(names)
    if header is None:
        if options.columns:
            flag = next(iter(options.columns))
            raise SeedgeError(
                f"{path}: has no header row, so {flag} has no column names to match; add a header "
                f"row (e.g. path,label) or drop {flag}"
            )
        image_cols = [i for i, c in enumerate(first_row) if _is_image_name(c)]
        if n == 2 or n < 2:
            first = image_cols[0] if image_cols else 0
            return Columns(first, 1 - first if n == 2 else 1, None, names, False, delimiter)
        raise SeedgeError(
            f"{path}: no header row and {n} columns ({_sample(first_row)}); add a header row naming "
            f"the columns (e.g. path,label) and pass --label-column if its name is not label/class"
        )
    keys = [_key(c) for c in header]

    def by_flag(flag: str, wanted: str | None) -> int | None:
        if wanted is None:
            return None
        hits = [i for i, k in enumerate(keys) if k == _key(wanted)]
        if not hits:
            raise SeedgeError(f"{path}: {flag} {wanted!r} is not a column; the columns are: {listed}")
        return hits[0]

    def by_name(known: tuple[str, ...], taken: set[int | None]) -> int | None:
        for name in known:
            for i, k in enumerate(keys):
                if k == name and i not in taken:
                    return i
        return None

    pcol = by_flag("--path-column", options.path_column)
    lcol = by_flag("--label-column", options.label_column)
    scol = by_flag("--split-column", options.split_column)
    if pcol is None:
        pcol = by_name(_PATH_NAMES, {lcol, scol})
    if pcol is None:  # no known name: the column whose first cell names an image file
        pcol = next((i for i, c in enumerate(first_row) if _is_image_name(c) and i not in (lcol, scol)), None)
    if pcol is None:
        raise SeedgeError(f"{path}: no image path column among: {listed}; pass --path-column NAME")
    if scol is None:
        scol = by_name(_SPLIT_NAMES, {pcol, lcol})
    if lcol is None:
        lcol = by_name(_LABEL_NAMES, {pcol, scol})
    if lcol is None:
        rest = [i for i in range(n) if i not in (pcol, scol)]
        if n == 2 and len(rest) == 1:  # path plus one other column: that one is the label
            lcol = rest[0]
        else:
            raise SeedgeError(
                f"{path}: no label column among: {listed} (known names: label, class, target, y, "
                f"plane, category); pass --label-column NAME"
            )
    if len({pcol, lcol, scol} - {None}) < (3 if scol is not None else 2):
        raise SeedgeError(
            f"{path}: path, label and split must be different columns (got "
            f"{names[pcol]}, {names[lcol]}{f', {names[scol]}' if scol is not None else ''})"
        )
    return Columns(pcol, lcol, scol, names, True, delimiter)


def _sample(row: list[str], n: int = 4) -> str:
    return ", ".join(c[:30] for c in row[:n]) + (", ..." if len(row) > n else "")
