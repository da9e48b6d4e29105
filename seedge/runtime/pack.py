"""Lean device folders: one artifact of an export, with only what a device needs to run it.

A full export holds every artifact plus the eager baseline (an SE-ResNet-50 export carries five
FP32-sized copies of the weights, ~550 MB); a device runs one of them. `pack` copies:

    manifest.json      reduced to that artifact's entry (same schema: seedge.runtime and the C++
                       runtime open the folder as they open an export); `packed` says from where
    <the artifact>     its file(s): an OpenVINO .xml with its .bin, an .onnx, a TensorRT .plan
    reference.npz      the self-test's inputs and eager logits (and labels): the first
                       `reference_samples` rows only (DEFAULT_REFERENCE_SAMPLES: a self-test needs a
                       few images, and an export's 16 at 224x224 are ~10 MB twice over)
    reference/*.f32    the same rows raw, for runtimes without numpy (when the export wrote them);
                       the manifest's `reference` (samples, raw shapes and sha256s) says what was kept

and leaves out the other artifacts, the eager baseline (model.safetensors + model.json, which only
`seedge verify` / `seedge bench` load) and the torch.export program. Class names, input spec and
preprocessing travel in the manifest. The artifact's sha256 is checked before and after copying,
and the folder is published like an export (staged, then renamed into place under a lock), so a
later pack or export into the same --out replaces it and a folder seedge did not write is never
replaced.
"""

from __future__ import annotations

import copy
import errno
import shutil
from pathlib import Path

from seedge import artifacts, fileio, publishing
from seedge.errors import SeedgeError

DEFAULT_REFERENCE_SAMPLES = 4


def reference_files(folder: Path, manifest: dict) -> list[str]:
    """The reference data the manifest names that exists in `folder` (relative paths)."""
    ref = manifest.get("reference") or {}
    names = [ref.get("file") or artifacts.REFERENCE]
    for entry in (ref.get("raw") or {}).values():
        if isinstance(entry, dict) and isinstance(entry.get("file"), str):
            names.append(entry["file"])
    return [n for n in names if (folder / n).exists() or (folder / n).is_symlink()]


def _copy(src: Path, dst: Path, out: Path, rel: str) -> None:
    """Copy one file into the staging folder. A failed write (a full disk) is named by where it
    writes: shutil reports ENOSPC with the source as the file name, which sent users to the
    export folder that was only read."""
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    except OSError as e:
        if e.filename == str(src) and e.filename2 is None and e.errno in (errno.ENOENT, errno.EACCES):
            raise  # reading the source failed: the error names it already
        raise SeedgeError(
            f"--out {out}: cannot write {rel} there ({fileio.os_error_text(e)}); free space or choose another --out"
        ) from None


def _keep_reference_rows(folder: Path, stage: Path, reduced: dict, arrays: dict, n: int) -> None:
    """Write the first `n` rows of every reference array into `stage` (reference.npz and the raw
    files) and make `reduced["reference"]` say so: samples, raw shapes and sha256s. The raw files
    are cut from the export's own bytes (C order: the first rows are a prefix), after their
    recorded sha256 is checked, so a runtime without numpy reads exactly the rows numpy does."""
    import numpy as np

    ref = reduced.get("reference") or {}  # an export without the entry keeps none (its npz has the default name)
    rel = ref.get("file") or artifacts.REFERENCE
    np.savez(stage / rel, **{k: a[:n] for k, a in arrays.items()})
    if "samples" in ref:
        ref["samples"] = n
    for name, entry in (ref.get("raw") or {}).items():
        src = artifacts.contained_file(folder, entry["file"], f"reference.raw.{name}.file")
        if entry.get("sha256") and fileio.sha256_file(src) != entry["sha256"]:
            raise SeedgeError(f"{src}: does not match its sha256 in the manifest; re-run `seedge export`")
        shape = [int(d) for d in entry["shape"]]
        row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * np.dtype(entry["dtype"]).itemsize
        dst = stage / entry["file"]
        dst.parent.mkdir(parents=True, exist_ok=True)
        with open(src, "rb") as f:
            head = f.read(n * row_bytes)
        if len(head) != n * row_bytes:
            raise SeedgeError(f"{src}: shorter than its manifest shape {shape}; re-run `seedge export`")
        dst.write_bytes(head)
        entry["shape"] = [n, *shape[1:]]
        entry["sha256"] = fileio.sha256_file(dst)


def _reference_arrays(folder: Path, manifest: dict, refs: list[str], wanted: int) -> tuple[dict, int]:
    """(the export's reference arrays, how many rows a pack keeps: `wanted`, or all when fewer);
    ({}, 0) for an export without reference.npz."""
    if wanted < 1:
        raise SeedgeError(f"--reference-samples {wanted}: must be at least 1 (the self-test needs an image)")
    if ((manifest.get("reference") or {}).get("file") or artifacts.REFERENCE) not in refs:
        return {}, 0
    arrays = artifacts.read_reference(folder, manifest)
    return arrays, min(wanted, len(arrays["input"]))


def pack(
    folder: str | Path, artifact_id: str, out: str | Path, reference_samples: int = DEFAULT_REFERENCE_SAMPLES
) -> dict:
    """Write `out` holding only `artifact_id` of the export `folder` (see the module docstring);
    returns what was written: {"folder", "artifact", "files": [{"file", "bytes"}], "bytes",
    "raw_reference", "reference_samples", "left_out"}."""
    folder, out = Path(folder), Path(out)
    manifest = artifacts.read_manifest(folder)
    entry = artifacts.find_artifact(manifest, artifact_id)
    artifacts.check_integrity(folder, entry)  # never pack bytes the export did not verify
    if out.resolve() == folder.resolve() or folder.resolve() in out.resolve().parents:
        raise SeedgeError(f"--out {out}: is the export folder or inside it; choose a folder elsewhere")
    publishing.check_output_location(out, "--out")
    publishing.check_replaceable(out)

    art_files = [
        p.relative_to(folder).as_posix()
        for p in artifacts.artifact_files(folder, entry["file"], f"artifact '{artifact_id}'")
    ]
    refs = reference_files(folder, manifest)
    for rel in refs:
        artifacts.contained_file(folder, rel, "reference.file")
    wanted = art_files + refs
    arrays, n_ref = _reference_arrays(folder, manifest, refs, reference_samples)

    reduced = copy.deepcopy(manifest)
    reduced["artifacts"] = [entry]
    reduced["packed"] = {
        "from": manifest["name"],
        "artifact": artifact_id,
        "created": fileio.now_iso(),
        "baseline_included": False,
    }
    if reduced.get("reference") and "raw" in reduced["reference"]:
        # Only the raw arrays that were copied are named.
        reduced["reference"]["raw"] = {
            k: v for k, v in reduced["reference"]["raw"].items() if isinstance(v, dict) and v.get("file") in refs
        }

    cut = bool(arrays) and n_ref < len(arrays["input"])
    with publishing.staging(out.parent, out.name) as stage:
        for rel in art_files if cut else wanted:
            _copy(folder / rel, stage / rel, out, rel)
        if cut:
            _keep_reference_rows(folder, stage, reduced, arrays, n_ref)
        artifacts.check_integrity(stage, entry)  # the copy holds the bytes the manifest names
        artifacts.write_manifest(stage, reduced)
        publishing.publish(stage, out.parent, out.name)

    files = [{"file": rel, "bytes": (out / rel).stat().st_size} for rel in [artifacts.MANIFEST, *wanted]]
    listed = set(wanted)
    left_out = sorted({a["file"] for a in manifest["artifacts"] if a["id"] != artifact_id} - listed)
    left_out.append(manifest["baseline"]["file"])
    raw = (reduced.get("reference") or {}).get("raw") or {}
    return {
        "folder": str(out),
        "artifact": artifact_id,
        "files": files,
        "bytes": sum(f["bytes"] for f in files),
        "raw_reference": "input" in raw and "logits" in raw,
        "reference_samples": n_ref,
        "left_out": left_out,
    }
