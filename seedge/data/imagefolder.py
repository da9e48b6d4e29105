"""ImageFolder directories: `root/<class>/*.png`, or `root/{train,val|valid,test}/<class>/*`.

With split folders the class list comes from train/; a class folder in val/ or test/
that train/ lacks is an error (the model could never predict it). Without split
folders the images are split here (seeded, stratified). Images in sub-folders of a
class folder count for that class, as in torchvision's ImageFolder.
"""

from __future__ import annotations

import os
from pathlib import Path

from seedge.data.images import IMAGE_EXTENSIONS, is_image_file
from seedge.data.source import Row, Source, build_source
from seedge.data.splits import SPLIT_ALIASES
from seedge.errors import SeedgeError

SPLIT_DIRS = SPLIT_ALIASES  # a split folder is named like its split or one of the split's aliases


def open_imagefolder(root: Path, class_names: list[str] | None = None, fractions=None) -> Source:
    root = Path(root)
    subdirs = _visible_dirs(root)
    split_dirs = [d for d in subdirs if d.name.lower() in SPLIT_DIRS]
    raw: dict[str, list[Row]] = {}
    if split_dirs:
        for d in split_dirs:
            part = SPLIT_DIRS[d.name.lower()]
            if part in raw:
                both = ", ".join(x.name for x in split_dirs if SPLIT_DIRS[x.name.lower()] == part)
                raise SeedgeError(f"{root}: both {both} hold the {part} split; keep one")
            raw[part] = _scan_classes(d)
    else:
        raw["all"] = _scan_classes(root)
    return build_source(str(root), "imagefolder", raw, class_names, fractions=fractions)


def is_flat_image_folder(root: Path) -> bool:
    """A folder with images and no visible sub-folder: a pool of unlabelled images."""
    root = Path(root)
    return root.is_dir() and not _visible_dirs(root)


def image_pool(root: Path) -> list[Path]:
    """Every image under `root` (sub-folders too, hidden ones skipped, links followed once):
    images without labels, e.g. for calibration."""
    files = _class_images(Path(root))
    if not files:
        raise SeedgeError(f"{root}: no images found (looked for {', '.join(sorted(IMAGE_EXTENSIONS))} files)")
    return files


def _visible_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _scan_classes(folder: Path) -> list[Row]:
    classes = _visible_dirs(folder)
    if not classes:
        loose = any(is_image_file(p) for p in folder.iterdir())
        hint = "images must sit in one sub-folder per class" if loose else "expected one sub-folder per class"
        raise SeedgeError(f"{folder}: no class folders found; {hint}")
    rows: list[Row] = []
    for cls_dir in classes:
        files = _class_images(cls_dir)
        if not files:
            raise SeedgeError(f"{cls_dir}: class folder holds no images; add images or remove the folder")
        rows.extend(Row(p, cls_dir.name, str(p)) for p in files)
    return rows


def _class_images(cls_dir: Path) -> list[Path]:
    """Image files under a class folder. Linked folders are followed (datasets often link into a
    shared pool) but each real folder is entered once and each real file counted once, so a
    link loop (`a/b -> a`) or two links to one folder never repeat images."""
    seen_dirs: set[str] = set()
    seen_files: set[str] = set()
    files = []

    def refuse(e: OSError):
        raise SeedgeError(
            f"{e.filename or cls_dir}: cannot read this folder ({e.strerror or e}); fix its permissions or remove it"
        ) from None

    for dirpath, dirnames, filenames in os.walk(cls_dir, followlinks=True, onerror=refuse):
        here = Path(dirpath)
        real = os.path.realpath(here)
        if real in seen_dirs:
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and os.path.realpath(here / d) not in seen_dirs
        )
        for f in sorted(filenames):
            p = here / f
            if not is_image_file(Path(f)) or _hidden(here, cls_dir):
                continue
            if os.path.exists(p) and not os.path.isfile(p):  # a FIFO or device: reading it would block
                raise SeedgeError(
                    f"{p}: not a regular file (a FIFO, device or folder named like an image); "
                    f"remove it from the data folder"
                )
            key = os.path.realpath(p)
            if key not in seen_files:
                seen_files.add(key)
                files.append(p)
    return sorted(files)


def _hidden(dirpath: Path, top: Path) -> bool:
    return any(part.startswith(".") for part in dirpath.relative_to(top).parts)
