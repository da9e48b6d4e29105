"""The `exported/<name>/` folder: manifest read/write, hashing, staging and atomic publish.

The manifest is the only contract between stages (DESIGN.md): verify, bench and the
runtime read a directory, never a live object. Layout:

    manifest.json      written last; schema below
    reference.npz      fixed inputs ("input") and eager FP32 outputs ("logits")
    model.safetensors  the eager FP32 baseline (+ model.json sidecar), so verify/bench
                       can rebuild the PyTorch model from the folder alone
    model.onnx, model.fp16.onnx, model.int8.onnx, model.ts, openvino/*.xml|bin, tensorrt/*.plan

This module must not import torch: the torch-free runtime reads manifests through it.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

from seedge.errors import SeedgeError

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
REFERENCE = "reference.npz"


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def new_manifest(name: str, model: dict, input_spec: dict, output_spec: dict, preprocessing: dict,
                 baseline: dict, tools: dict) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "created": now_iso(),
        "model": model,            # arch, num_classes, class_names, source, source_sha256
        "input": input_spec,       # name, shape (["batch", C, H, W]), dtype, layout
        "output": output_spec,     # name, shape (["batch", N])
        "preprocessing": preprocessing,
        "baseline": baseline,      # the eager FP32 model: file, sidecar
        "passes": [],              # one entry per pass: name, max_abs_diff, onnx_nodes_before/after
        "tools": tools,
        "artifacts": [],           # id, format, precision, file, sha256, backend, build, parity
    }


def artifact_entry(art_id: str, fmt: str, precision: str, file: str, root: Path, backend: str,
                   build: dict | None = None) -> dict:
    path = root / file
    return {
        "id": art_id,
        "format": fmt,
        "precision": precision,
        "file": file,
        "sha256": artifact_sha256(path),
        "bytes": sum(p.stat().st_size for p in _artifact_files(path)),
        "backend": backend,
        "build": build or {},
        "parity": None,
    }


def _artifact_files(path: Path) -> list[Path]:
    """The files an artifact consists of: a folder's files, or the file plus its companions
    (an OpenVINO .xml needs its .bin: hashing only the .xml would let a swapped .bin pass)."""
    if path.is_dir():
        return sorted(q for q in path.rglob("*") if q.is_file())
    files = [path]
    if path.suffix == ".xml" and path.with_suffix(".bin").is_file():
        files.append(path.with_suffix(".bin"))
    return files


def artifact_sha256(path: Path) -> str:
    """sha256 of a single-file artifact, else of (relative name, sha256) of each of its files."""
    files = _artifact_files(path)
    if len(files) == 1 and files[0] == path:
        return sha256_file(path)
    root = path if path.is_dir() else path.parent
    h = hashlib.sha256()
    for p in files:
        h.update(p.relative_to(root).as_posix().encode())
        h.update(sha256_file(p).encode())
    return h.hexdigest()


def write_manifest(folder: Path, manifest: dict) -> Path:
    """Write manifest.json atomically (temp file + rename)."""
    path = Path(folder) / MANIFEST
    tmp = path.with_name(f".{MANIFEST}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False, default=_json_default))
    os.replace(tmp, path)
    return path


def _json_default(o):
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def read_manifest(folder: str | os.PathLike) -> dict:
    folder = Path(folder)
    path = folder / MANIFEST
    if not folder.is_dir():
        raise SeedgeError(f"{folder}: not a directory; pass a folder written by `seedge export`")
    if not path.is_file():
        raise SeedgeError(f"{folder}: no {MANIFEST} here; pass a folder written by `seedge export`")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise SeedgeError(f"{path}: unreadable manifest ({e}); re-run `seedge export`") from None
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        raise SeedgeError(f"{path}: manifest schema version {version!r} is not {SCHEMA_VERSION}; "
                          f"re-run `seedge export` with this seedge")
    return manifest


def find_artifact(manifest: dict, art_id: str) -> dict:
    for a in manifest["artifacts"]:
        if a["id"] == art_id:
            return a
    ids = ", ".join(a["id"] for a in manifest["artifacts"])
    raise SeedgeError(f"no artifact '{art_id}' in {manifest['name']} (has: {ids})")


def check_integrity(folder: Path, artifact: dict) -> None:
    """Refuse to run an artifact whose bytes are not the ones the manifest recorded."""
    path = Path(folder) / artifact["file"]
    if not path.exists():
        raise SeedgeError(f"{path}: listed in the manifest but missing; re-run `seedge export`")
    actual = artifact_sha256(path)
    if actual != artifact["sha256"]:
        raise SeedgeError(f"{path}: sha256 differs from the manifest (file changed after export); "
                          f"re-run `seedge export`")


@contextmanager
def staging(out_root: str | os.PathLike, name: str):
    """Yield an empty staging folder beside `out_root/name`.

    The caller fills it (artifacts first, manifest last) and calls `publish(stage, ...)`;
    if the block raises, or publish is never called, the staging folder is removed and
    whatever was published under `name` before stays exactly as it was.
    """
    out_root = Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    stage = out_root / f".staging-{name}-{uuid.uuid4().hex[:8]}"
    stage.mkdir()
    try:
        yield stage
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


def publish(stage: Path, out_root: str | os.PathLike, name: str) -> Path:
    """Swap the staging folder into `out_root/name` by rename; the old folder is removed after."""
    if not (stage / MANIFEST).is_file():
        raise RuntimeError("publish called before the manifest was written")
    target = Path(out_root) / name
    old = None
    if target.exists():
        old = Path(out_root) / f".old-{name}-{uuid.uuid4().hex[:8]}"
        os.replace(target, old)
    os.replace(stage, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return target
