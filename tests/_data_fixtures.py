"""Tiny on-disk datasets for the data/train/evaluate tests, drawn with PIL.

Images are synthetic shapes (seedge.data.shapes.render_shape), saved in a mix of
modes (RGB, grayscale L, RGBA) so every test tree exercises the RGB conversion.
"""

from __future__ import annotations

import csv
from pathlib import Path

MODES = ("RGB", "L", "RGBA")


def write_images(folder: Path, kind: str, n: int, size=(24, 24), seed: int = 0) -> list[Path]:
    from seedge.data.shapes import render_shape

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        mode = MODES[i % len(MODES)]
        p = folder / f"{kind}_{seed}_{i:03d}_{mode}.png"
        render_shape(kind, size, seed=seed * 1000 + i, mode=mode).save(p)
        paths.append(p)
    return paths


def make_imagefolder(root: Path, classes=("circle", "square", "triangle"), n: int = 10, size=(24, 24),
                     splits: tuple[str, ...] = ()) -> Path:
    """root/<class>/*.png, or root/<split>/<class>/*.png for each name in `splits`."""
    if not splits:
        for c in classes:
            write_images(root / c, c, n, size)
    for k, split in enumerate(splits):
        for c in classes:
            write_images(root / split / c, c, n, size, seed=k + 1)
    return root


def make_csv(path: Path, rows, header=("path", "label")) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        if header:
            w.writerow(header)
        w.writerows(rows)
    return path


def make_csv_dataset(root: Path, labels=("benign", "malignant"), n: int = 8, size=(20, 20),
                     name: str = "data.csv", header=("Image_path", "Plane")) -> Path:
    """Images under root/img/ and a CSV of relative path,label rows with string labels."""
    kinds = ("circle", "square", "triangle", "cross")
    rows = []
    for k, label in enumerate(labels):
        for p in write_images(root / "img", kinds[k % len(kinds)], n, size, seed=k + 7):
            rows.append((str(p.relative_to(root)), label))
    return make_csv(root / name, rows, header)
