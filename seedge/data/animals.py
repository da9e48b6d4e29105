"""The built-in `animals` source: Animal-MNIST silhouettes from the animal-mnist package (no download).

10,000 grayscale 28x28 uint8 images, 1,000 in each of 10 classes. A harder real image set
than `digits` that still works offline. SRC is `animals` (all) or `animals,n=K` (the first K
images of each class in file order: a deterministic subset for quick runs). Images are
made 3-channel and resized to the model input by the same preprocessing as every source.

The data comes from `pip install --no-deps animal-mnist==0.4` (MIT). That package declares
tensorflow, pandas and scikit-learn as dependencies and its modules import tensorflow, so
seedge never imports it: the data files are located with importlib.util.find_spec (which
does not run the package) and read here. They are gzipped pickles of numpy arrays; a pickle
can run any code while loading, so the unpickler below allows only numpy array
reconstruction and refuses every other global.
"""

from __future__ import annotations

import gzip
import importlib
import importlib.util
import io
import pickle
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from seedge.data.source import Row, Source, build_source
from seedge.errors import SeedgeError

# Label i is ANIMALS[i]. The package has no label->name table in its code; its README
# (the wheel's METADATA: "Bear, Bird, Cat, Cow, Dog, Elephant, Giraffe, Horse, Sheep, Zebra")
# lists them in this order, and a montage of each label's images confirms it (label 6 are
# long-necked giraffes, label 9 striped zebras, and so on).
ANIMALS = ("bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra")
PER_CLASS = 1000
IMAGE_SHAPE = (28, 28)
DATA_FILE = "animal_data_version_3.gz"
LABEL_FILE = "animal_label_version_3.gz"
MAX_BYTES = 64 * 1024 * 1024  # the files are 2.6 MB / 8 MB unpacked: anything near this is not them
INSTALL_HINT = (
    "animals: the dataset comes from the animal-mnist package; install it with "
    "`pip install --no-deps animal-mnist==0.4`"
)
SRC_SYNTAX = "animals[,n=K]"


def _allowed_globals() -> dict[tuple[str, str], object]:
    """What a pickled numpy array may name. numpy 1.x writes numpy.core.multiarray, 2.x
    numpy._core.multiarray; both map to the installed numpy's own function."""
    try:
        multiarray = importlib.import_module("numpy._core.multiarray")
    except ImportError:  # numpy < 2
        multiarray = importlib.import_module("numpy.core.multiarray")
    reconstruct = multiarray._reconstruct
    return {
        ("numpy.core.multiarray", "_reconstruct"): reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }


class _ArrayUnpickler(pickle.Unpickler):
    def __init__(self, file, origin: str):
        super().__init__(file)
        self._origin = origin
        self._allowed = _allowed_globals()

    def find_class(self, module, name):
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise SeedgeError(
                f"{self._origin}: the pickle refers to {module}.{name}; only numpy arrays are "
                f"read from it (refused, nothing was run)"
            ) from None


def read_pickled_array(path: str | Path) -> np.ndarray:
    """The numpy array in a gzipped pickle, read with the restricted unpickler and size bounds."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise SeedgeError(f"{path}: {path.stat().st_size} bytes; not an animal-mnist data file (they are a few MB)")
        with gzip.open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)  # bounded: a small file may still unpack to gigabytes
    except OSError as e:  # also gzip.BadGzipFile
        raise SeedgeError(f"{path}: cannot read the gzipped data ({e})") from None
    except (EOFError, zlib.error) as e:
        raise SeedgeError(f"{path}: truncated or corrupt gzip data ({e})") from None
    if len(raw) > MAX_BYTES:
        raise SeedgeError(f"{path}: unpacks to more than {MAX_BYTES} bytes; not an animal-mnist data file")
    try:
        obj = _ArrayUnpickler(io.BytesIO(raw), str(path)).load()
    except SeedgeError:
        raise
    except Exception as e:  # noqa: BLE001 - a malformed pickle raises many types (UnpicklingError, EOFError...)
        raise SeedgeError(f"{path}: not a readable pickled numpy array ({type(e).__name__}: {e})") from None
    if not isinstance(obj, np.ndarray):
        raise SeedgeError(f"{path}: holds a {type(obj).__name__}, not a numpy array")
    return obj


def data_dir() -> Path:
    """Where the installed animal-mnist package keeps its data, without importing the package."""
    spec = importlib.util.find_spec("animal_mnist")
    if spec is None or not spec.submodule_search_locations:
        raise SeedgeError(INSTALL_HINT)
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "Animal_MNIST"


@lru_cache(maxsize=1)
def animals_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (10000, 28, 28), labels int64 in 0..9), read-only, in file order."""
    folder = data_dir()
    paths = {name: folder / name for name in (DATA_FILE, LABEL_FILE)}
    for p in paths.values():
        if not p.is_file():
            raise SeedgeError(
                f"{p}: missing from the installed animal-mnist package; reinstall it with "
                f"`pip install --no-deps --force-reinstall animal-mnist==0.4`"
            )
    images = read_pickled_array(paths[DATA_FILE])
    labels = read_pickled_array(paths[LABEL_FILE])
    return check_arrays(images, labels, str(folder))


def check_arrays(images: np.ndarray, labels: np.ndarray, origin: str) -> tuple[np.ndarray, np.ndarray]:
    """The arrays as animals_arrays returns them, or one line saying what is off. The files hold
    uint8 0..255 images and int64 labels; anything else is refused, not converted."""
    n = len(ANIMALS) * PER_CLASS
    if images.dtype != np.uint8 or images.shape != (n, *IMAGE_SHAPE):
        raise SeedgeError(
            f"{origin}: images are {images.dtype} {images.shape}; expected uint8 "
            f"({n}, {IMAGE_SHAPE[0]}, {IMAGE_SHAPE[1]})"
        )
    if labels.dtype.kind not in "iu" or labels.shape != (n,):
        raise SeedgeError(f"{origin}: labels are {labels.dtype} {labels.shape}; expected integers ({n},)")
    if labels.min() < 0 or labels.max() >= len(ANIMALS):
        raise SeedgeError(f"{origin}: labels range {labels.min()}..{labels.max()}; expected 0..{len(ANIMALS) - 1}")
    counts = np.bincount(labels, minlength=len(ANIMALS))
    if not (counts == PER_CLASS).all():
        raise SeedgeError(f"{origin}: images per class {counts.tolist()}; expected {PER_CLASS} each")
    images = np.ascontiguousarray(images)
    labels = labels.astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def parse_animals_src(src: str) -> int | None:
    """'animals' -> None (all images); 'animals,n=K' -> K images per class."""
    per_class = None
    for part in filter(None, (p.strip() for p in src.split(",")[1:])):
        key, eq, val = part.partition("=")
        try:
            if key.strip() != "n" or not eq:
                raise ValueError(part)
            per_class = int(val)
        except ValueError:
            raise SeedgeError(f"{src}: cannot parse '{part}'; use {SRC_SYNTAX} (K images per class)") from None
        if not 1 <= per_class <= PER_CLASS:
            raise SeedgeError(f"{src}: n={per_class}: give 1..{PER_CLASS} images per class")
    return per_class


def open_animals(src: str = "animals", class_names: list[str] | None = None, fractions=None) -> Source:
    if src.split(",")[0] != "animals":
        raise SeedgeError(f"{src}: not an animals source; use {SRC_SYNTAX}")
    per_class = parse_animals_src(src)
    images, labels = animals_arrays()
    if per_class is None:
        keep = np.arange(len(labels))
    else:  # the first K of each class in file order (stable: no seed involved)
        keep = np.sort(np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(len(ANIMALS))]))
    rows = [Row(images[i], ANIMALS[labels[i]], f"animals[{i}]") for i in keep]
    # The file's label order, not the lexical one (they agree, but the file is what defines it).
    return build_source(src, "animals", {"all": rows}, class_names or list(ANIMALS), fractions=fractions)
