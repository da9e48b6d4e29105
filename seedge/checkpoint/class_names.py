"""A checkpoint's classes: how many its classifier has, and what they are called."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from seedge.errors import SeedgeError


def parse_class_names(value) -> list[str] | None:
    """--class-names: "a,b,c", a file with one name per line, or a list; None when not given."""
    if value is None or value == "" or value == ():
        return None
    if isinstance(value, (list, tuple)):
        names = [str(v).strip() for v in value]
        where = "class_names"
    elif os.path.isfile(str(value)):
        try:
            text = Path(value).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise SeedgeError(f"--class-names {value}: cannot read the file ({e})") from None
        names = [line.strip() for line in text.splitlines() if line.strip()]
        where = f"--class-names {value}"
    else:
        names = [v.strip() for v in str(value).split(",")]
        where = f"--class-names {value!r}"
        if len(names) == 1 and ("/" in names[0] or names[0].endswith((".txt", ".csv"))):
            raise SeedgeError(f"{where}: no such file; give the names comma-separated or a file with one per line")
    if not names or any(not n for n in names):
        raise SeedgeError(f"{where}: empty class name; give names like cat,dog or a file with one per line")
    repeated = sorted(n for n, count in Counter(names).items() if count > 1)  # linear: 300k names in ms
    if repeated:
        raise SeedgeError(f"{where}: class name '{repeated[0]}' appears twice")
    return names


def check_num_classes(n: int | None) -> int | None:
    """--num-classes as given: None (read it from the checkpoint) or a count of at least 1; a 0
    would otherwise read as "not given" and be silently replaced by the checkpoint's count."""
    if n is not None and (isinstance(n, bool) or int(n) != n or n < 1):
        raise SeedgeError(
            f"--num-classes {n}: a classifier has at least 1 output; give the class count or "
            f"leave it out to use the checkpoint's"
        )
    return n


def resolve_class_names(given, recorded, n: int, path) -> list[str]:
    """The model's class names: given ones (checked against the count and what the checkpoint
    records), else the recorded ones, else "0".."n-1"."""
    names = parse_class_names(given)
    generic = [str(i) for i in range(n)]
    if names is None:
        return list(recorded) if recorded else generic
    if len(names) != n:
        raise SeedgeError(f"--class-names gives {len(names)} names but {path} has {n} outputs")
    if recorded and list(recorded) != generic and list(recorded) != names:
        raise SeedgeError(
            f"--class-names {','.join(names[:4])}... differs from the names {path} records "
            f"({','.join(list(recorded)[:4])}...); drop --class-names"
        )
    return names


def last_linear_outputs(sd: dict) -> int | None:
    """Outputs of the last 2-D weight: the classifier of a checkpoint that names it otherwise
    (`last_linear`, `head.fc`), so its key map can be found at the right class count."""
    weights = [v for k, v in sd.items() if k.endswith("weight") and v.dim() == 2]
    return int(weights[-1].shape[0]) if weights else None


def classifier_outputs(sd: dict, classifier: str) -> int | None:
    w = sd.get(f"{classifier}.weight")
    return int(w.shape[0]) if w is not None and w.dim() >= 1 else None
