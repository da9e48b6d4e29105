"""Lean device folders: one artifact of an export, with only what a device needs to run it.

A full export holds every artifact plus the eager baseline (an SE-ResNet-50 export carries five
FP32-sized copies of the weights, ~550 MB); a device runs one of them. `pack` copies:

    manifest.json      reduced to that artifact's entry (same schema: seedge.runtime and the C++
                       runtime open the folder as they open an export); `packed` says from where
    <the artifact>     its file(s): an OpenVINO .xml with its .bin, an .onnx, a TensorRT .plan
    reference.npz      the self-test's inputs and eager logits (and labels)
    reference/*.f32    the same raw, for runtimes without numpy (when the export wrote them)

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


def pack(folder: str | Path, artifact_id: str, out: str | Path) -> dict:
    """Write `out` holding only `artifact_id` of the export `folder` (see the module docstring);
    returns what was written: {"folder", "artifact", "files": [{"file", "bytes"}], "bytes",
    "raw_reference", "left_out"}."""
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

    with publishing.staging(out.parent, out.name) as stage:
        for rel in wanted:
            _copy(folder / rel, stage / rel, out, rel)
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
        "left_out": left_out,
    }
