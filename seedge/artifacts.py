"""The `exported/<name>/` folder's contents: manifest read/write and checks, hashing, containment.

Where folders are written (ownership, writable locations, staging, locks, atomic publish) is
seedge.publishing.

The manifest is the only contract between stages (ARCHITECTURE.md, "The contract"): verify, bench and the
runtime read a directory, never a live object. Layout:

    manifest.json      written last; schema below
    .seedge-export     marker: this folder was written by `seedge export` (seedge.publishing)
    reference.npz      fixed inputs ("input") and eager FP32 outputs ("logits")
    model.safetensors  the eager FP32 baseline (+ model.json sidecar), so verify/bench
                       can rebuild the PyTorch model from the folder alone
    model.onnx, model.fp16.onnx, model.int8.onnx, model.ts, openvino/*.xml|bin, tensorrt/*.plan

A folder can come from a stranger, so everything read from it goes through this module:
the manifest is checked field by field (read_manifest), every file it names must resolve
inside the folder and be a regular file (contained_file: no absolute paths, no `..`, no
symlink out, never a device or FIFO), and reads are size-bounded. The sha256 in a manifest
cannot protect against a `file` that points elsewhere: containment does.

This module must not import torch: the torch-free runtime reads manifests through it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from pathlib import Path, PurePosixPath

from seedge import contract
from seedge.contract.manifest import MANIFEST, MAX_MANIFEST_BYTES, SCHEMA_VERSION
from seedge.errors import IntegrityError, SeedgeError
from seedge.fileio import atomic_write, now_iso, os_error_text, read_bounded, sha256_file
from seedge.trust import is_native, record_built

REFERENCE = "reference.npz"
# Size bounds of what is read whole into memory: the manifest's is the contract's.
# reference.npz holds a few dozen inputs (16 x 3 x 224 x 224 float32 is 9.6 MB); the bound is on
# the uncompressed size, so a zip bomb is refused before it is inflated.
MAX_REFERENCE_BYTES = 1 << 30


# --- manifest ------------------------------------------------------------------------------------


def new_manifest(
    name: str, model: dict, input_spec: dict, output_spec: dict, preprocessing: dict, baseline: dict, tools: dict
) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "created": now_iso(),
        "model": model,  # arch, num_classes, class_names, source, source_sha256
        "input": input_spec,  # name, shape (["batch", C, H, W]), dtype, layout
        "output": output_spec,  # name, shape (["batch", N])
        "preprocessing": preprocessing,
        "baseline": baseline,  # the eager FP32 model: file, sidecar
        "passes": [],  # one entry per pass: name, max_abs_diff, onnx_nodes_before/after
        "tools": tools,
        "artifacts": [],  # id, format, precision, file, sha256, backend, build, parity
    }


def artifact_entry(
    art_id: str, fmt: str, precision: str, file: str, root: Path, backend: str, build: dict | None = None
) -> dict:
    files = artifact_files(root, file, f"the file of artifact '{art_id}'")
    sha256 = _hash_files(root / file, files)
    if is_native(fmt):  # seedge.trust's proof that this machine built the native code it will load
        record_built(sha256)
    return {
        "id": art_id,
        "format": fmt,
        "precision": precision,
        "file": file,
        "sha256": sha256,
        "bytes": sum(p.stat().st_size for p in files),
        "backend": backend,
        "build": build or {},
        "parity": None,
    }


def write_manifest(folder: Path, manifest: dict) -> Path:
    """Write manifest.json atomically (temp file + rename)."""
    text = json.dumps(manifest, indent=2, sort_keys=False, default=_json_default)
    return atomic_write(Path(folder) / MANIFEST, text)


def _json_default(o):
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def read_manifest(folder: str | os.PathLike) -> dict:
    """The folder's manifest, checked field by field: anything malformed is one SeedgeError
    line naming manifest.json and the field."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not folder.is_dir():
        raise SeedgeError(f"{folder}: not a directory; pass a folder written by `seedge export`")
    if not os.path.lexists(path):
        raise SeedgeError(f"{folder}: no {MANIFEST} here; pass a folder written by `seedge export`")
    data = read_bounded(contained_file(folder, MANIFEST, MANIFEST), MAX_MANIFEST_BYTES, "manifest")
    try:
        manifest = contract.parse(data)
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, huge ints, deep nesting, lone surrogates
        detail = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise SeedgeError(f"{path}: unreadable manifest (not JSON: {detail}); re-run `seedge export`") from None
    check_manifest(manifest, path)
    return manifest


def check_manifest(manifest, path: str | os.PathLike = MANIFEST) -> None:
    """Raise SeedgeError naming `path` and the first malformed field, by the contract's rules
    (seedge.contract.manifest, which the C++ runtime checks too); the readers (verify, bench,
    runtime) may then index the fields they use without guarding each one."""
    contract.check(contract.manifest.DOCUMENT, manifest, path)


def find_artifact(manifest: dict, art_id: str) -> dict:
    for a in manifest["artifacts"]:
        if a["id"] == art_id:
            return a
    ids = ", ".join(a["id"] for a in manifest["artifacts"])
    raise SeedgeError(f"no artifact '{art_id}' in {manifest['name']} (has: {ids})")


# --- containment: every file a manifest names stays inside its folder -----------------------------


def contained_file(folder: str | os.PathLike, rel, field: str, allow_dir: bool = False) -> Path:
    """`folder / rel` after checking that `rel` (a manifest's `file`) is a relative path that
    resolves inside `folder` (no absolute path, no `..`, no symlink leaving the folder) and
    names a regular file (or, with allow_dir, a folder). A device file, FIFO or socket is
    refused without being opened: opening one can block forever or read without end."""
    folder = Path(folder)
    where = _show(folder / MANIFEST)
    if not isinstance(rel, str) or not rel or "\x00" in rel:
        raise IntegrityError(f"{where}: {field} names {_show(repr(rel))}, not a file name; re-run `seedge export`")
    pure = PurePosixPath(rel.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or re.match(r"^[A-Za-z]:", rel):
        raise IntegrityError(
            f"{where}: {field}, '{_show(rel)}', points outside the export folder; only files "
            f"inside {_show(folder)} are read (re-run `seedge export`)"
        )
    path = folder / rel
    try:
        real, root = path.resolve(), folder.resolve()
    except (OSError, RuntimeError) as e:  # a symlink loop
        raise IntegrityError(
            f"{_show(path)}: {field} cannot be resolved ({os_error_text(e)}); re-run `seedge export`"
        ) from None
    if real != root and root not in real.parents:
        raise IntegrityError(
            f"{_show(path)}: {field} is a link to {_show(real)}, outside the export folder; "
            f"only files inside {_show(folder)} are read (re-run `seedge export`)"
        )
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        raise IntegrityError(
            f"{_show(path)}: listed in the manifest ({field}) but missing; re-run `seedge export`"
        ) from None
    except OSError as e:
        raise IntegrityError(f"{_show(path)}: {field} cannot be read ({os_error_text(e)})") from None
    if not (stat.S_ISREG(mode) or (allow_dir and stat.S_ISDIR(mode))):
        raise IntegrityError(
            f"{_show(path)}: {field} is {_file_kind(mode)}, not a regular file; it is never opened "
            f"(re-run `seedge export`)"
        )
    return path


def artifact_files(folder: str | os.PathLike, rel, field: str) -> list[Path]:
    """The files an artifact consists of, each checked by contained_file: a folder's files, or
    the file plus its companions (an OpenVINO .xml needs its .bin: hashing only the .xml would
    let a swapped .bin pass)."""
    folder = Path(folder)
    path = contained_file(folder, rel, field, allow_dir=True)
    if path.is_dir():
        out = []
        for dirpath, dirnames, filenames in os.walk(path):  # links are not followed, but checked
            base = Path(dirpath)
            for d in list(dirnames):
                if (base / d).is_symlink():
                    dirnames.remove(d)
                    filenames.append(d)  # a linked folder: refused by contained_file below
            for name in filenames:
                member = (base / name).relative_to(folder).as_posix()
                out.append(contained_file(folder, member, f"{field} (file {_show(member)})"))
        return sorted(out)
    files = [path]
    if path.suffix == ".xml":
        companion = Path(rel).with_suffix(".bin").as_posix()
        if os.path.lexists(folder / companion):
            files.append(contained_file(folder, companion, f"{field} (weights {companion})"))
    return files


def _hash_files(path: Path, files: list[Path]) -> str:
    """sha256 of a single-file artifact, else of (relative name, sha256) of each of its files."""
    if len(files) == 1 and files[0] == path:
        return sha256_file(path)
    root = path if path.is_dir() else path.parent
    h = hashlib.sha256()
    for p in files:
        h.update(p.relative_to(root).as_posix().encode())
        h.update(sha256_file(p).encode())
    return h.hexdigest()


def artifact_sha256(path: Path) -> str:
    """sha256 of the artifact at `path` (its folder is the containment root)."""
    path = Path(path)
    return _hash_files(path, artifact_files(path.parent, path.name, str(path.name)))


def check_integrity(folder: Path, artifact: dict, field: str | None = None) -> Path:
    """Refuse to run an artifact whose bytes are not the ones the manifest recorded, or whose
    `file` leaves the folder; returns the checked path."""
    folder = Path(folder)
    field = field or f"the file of artifact '{artifact.get('id', '?')}'"
    rel = artifact.get("file")
    files = artifact_files(folder, rel, field)
    assert isinstance(rel, str)  # artifact_files refused anything but a file name
    path = folder / rel
    expected = artifact.get("sha256")
    if not isinstance(expected, str) or _hash_files(path, files) != expected.lower():
        raise IntegrityError(
            f"{_show(path)}: sha256 differs from the manifest (file changed after export); re-run `seedge export`"
        )
    return path


def read_reference(folder: str | os.PathLike, manifest: dict) -> dict:
    """reference.npz's arrays ("input", "logits", "labels" when present), read without pickle,
    size-bounded (uncompressed sizes are checked before anything is inflated) and checked:
    a broken or foreign file is one SeedgeError line naming it."""
    import zipfile

    import numpy as np

    folder = Path(folder)
    rel = (manifest.get("reference") or {}).get("file") or REFERENCE
    path = contained_file(folder, rel, "reference.file")
    fix = "re-run `seedge export`"
    try:
        with zipfile.ZipFile(path) as z:
            total = sum(i.file_size for i in z.infolist())
        if total > MAX_REFERENCE_BYTES or path.stat().st_size > MAX_REFERENCE_BYTES:
            raise SeedgeError(
                f"{path}: reference data of {max(total, path.stat().st_size)} bytes is over the "
                f"{MAX_REFERENCE_BYTES}-byte bound; {fix}"
            )
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: np.asarray(npz[k]) for k in ("input", "logits", "labels", "pixels") if k in npz.files}
    except SeedgeError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, RuntimeError) as e:
        detail = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
        if "allow_pickle" in detail:
            detail = "holds pickled objects, which are never loaded"
        raise SeedgeError(f"{path}: unreadable reference data ({detail}); {fix}") from None
    x = arrays.get("input")
    if x is None or x.dtype.kind != "f" or x.ndim != 4 or len(x) == 0:
        got = "no 'input' array" if x is None else f"'input' of dtype {x.dtype} and shape {list(x.shape)}"
        raise SeedgeError(f"{path}: reference data has {got}, not float NCHW images; {fix}")
    logits = arrays.get("logits")
    if logits is not None and (logits.dtype.kind != "f" or logits.ndim != 2 or len(logits) != len(x)):
        raise SeedgeError(
            f"{path}: reference 'logits' of dtype {logits.dtype} and shape {list(logits.shape)} "
            f"do not match {len(x)} inputs; {fix}"
        )
    labels = arrays.get("labels")
    if labels is not None and (labels.dtype.kind not in "iu" or labels.shape != (len(x),)):
        raise SeedgeError(
            f"{path}: reference 'labels' of dtype {labels.dtype} and shape {list(labels.shape)} "
            f"do not match {len(x)} inputs; {fix}"
        )
    # The images "input" was made from (exports with the preprocessing inside an artifact): NHWC uint8.
    pixels = arrays.get("pixels")
    if pixels is not None and (
        pixels.dtype != np.uint8
        or pixels.ndim != 4
        or len(pixels) != len(x)
        or pixels.shape[1:] != (x.shape[2], x.shape[3], x.shape[1])
    ):
        raise SeedgeError(
            f"{path}: reference 'pixels' of dtype {pixels.dtype} and shape {list(pixels.shape)} "
            f"are not uint8 NHWC images of the {len(x)} inputs; {fix}"
        )
    return arrays


def _show(text) -> str:
    """A name from a stranger's manifest or disk, with control characters escaped: an error
    stays one line even for a file called "a\\nb"."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def _file_kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"
