"""Datasets: `digits` (built in), `animals` (animal-mnist package), synthetic `shapes`, ImageFolder dirs, CSV files.

    open_source(src, root=None, class_names=None, options=None) -> Source (splits train/val/test, class_names)
    load_arrays(src, preprocess, split="test", limit=None, seed=0) -> (x NCHW float32, y int64, class_names)

`options` (SourceOptions) names CSV columns and sets the split fractions.

SRC is "digits", "animals[,n=K]", "shapes[:HxW][,n=N][,classes=K][,seed=S]", an ImageFolder
directory or a CSV file of path,label rows. torch-based Dataset/DataLoader helpers live in
`seedge.data.torch_data` (imported on demand: this package needs no torch).
"""

from __future__ import annotations

from pathlib import Path

from seedge.data.arrays import load_arrays, load_split_arrays
from seedge.data.source import Row, Samples, Source, SourceOptions
from seedge.data.splits import SPLIT_SEED
from seedge.errors import SeedgeError
from seedge.fileio import path_kind

__all__ = [
    "Row",
    "SPLIT_SEED",
    "Samples",
    "Source",
    "SourceOptions",
    "load_arrays",
    "load_split_arrays",
    "open_source",
    "parse_classes",
]

SRC_HELP = "'digits', 'animals[,n=K]', 'shapes[:HxW]', an ImageFolder directory or a CSV file of path,label rows"


def open_source(
    src: str, root: str | Path | None = None, class_names: list[str] | None = None, options: SourceOptions | None = None
) -> Source:
    """Resolve SRC to a Source. `class_names` fixes the label order (a checkpoint's, or --classes);
    `options` names CSV columns and sets split fractions (see SourceOptions)."""
    src = str(src)
    path = Path(src)
    options = options or SourceOptions()
    is_csv = path.is_file() and path.suffix.lower() in (".csv", ".txt")
    if options.columns and not is_csv:
        raise SeedgeError(
            f"{src}: {', '.join(options.columns)} appl{'ies' if len(options.columns) == 1 else 'y'} to CSV sources only"
        )
    if src == "digits" and not path.exists():
        from seedge.data.digits import open_digits

        return open_digits(src, class_names, fractions=options.fractions)
    if (src == "animals" or src.startswith("animals,")) and not path.exists():
        from seedge.data.animals import open_animals

        return open_animals(src, class_names, fractions=options.fractions)
    if (src == "shapes" or src.startswith("shapes:")) and not path.exists():
        from seedge.data.shapes import open_shapes

        return open_shapes(src, class_names, fractions=options.fractions)
    if not path.exists():
        kind = path_kind(path)  # a symlink loop or dangling link is named as such, not "no such file"
        what = "no such file or directory" if kind == "not found" else kind
        raise SeedgeError(f"{src}: {what}; the data source must be {SRC_HELP}")
    if path.is_dir():
        if root is not None:
            raise SeedgeError(f"{src}: --data-root applies to CSV sources only")
        from seedge.data.imagefolder import open_imagefolder

        return open_imagefolder(path, class_names, fractions=options.fractions)
    if path.suffix.lower() in (".csv", ".txt"):
        from seedge.data.csvfile import open_csv

        return open_csv(path, Path(root) if root else None, class_names, options)
    raise SeedgeError(f"{src}: not a directory or a .csv file; the data source must be {SRC_HELP}")


def parse_classes(text: str | None) -> list[str] | None:
    """'--classes cat,dog' -> ['cat', 'dog'] (order kept: it is the model's output order)."""
    if not text:
        return None
    names = [c.strip() for c in text.split(",") if c.strip()]
    if len(names) < 2:
        raise SeedgeError(f"--classes '{text}': give at least two comma-separated class names")
    if len(set(names)) != len(names):
        raise SeedgeError(f"--classes '{text}': class names repeat")
    return names
