"""The export folder's data files no runner opens itself, held to the hashes the manifest records.

The raw reference arrays (`reference/*.f32`, `*.i64`, `*.u8`: the C++ self-test's inputs and
expected logits) and the eager baseline's sidecar (`model.json`: architecture, class names,
preprocessing the torch runner rebuilds the baseline from) decide what a self-test or a parity
run compares against. A changed one would move the goalposts without any artifact's sha256
changing, so verify and bench check them as they check artifacts (inside the folder, a regular
file, the recorded sha256). An older manifest without a hash still gets the containment check.
"""

from __future__ import annotations

from pathlib import Path

from seedge.artifacts import check_integrity, contained_file


def check_raw_reference(folder: Path, manifest: dict) -> None:
    """Every `reference.raw.<name>` file: contained, regular, and its recorded sha256."""
    for name, entry in ((manifest.get("reference") or {}).get("raw") or {}).items():
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            continue
        if entry.get("sha256"):
            check_integrity(folder, entry, f"reference.raw.{name}")
        else:
            contained_file(folder, entry["file"], f"reference.raw.{name}.file")


def check_baseline_sidecar(folder: Path, manifest: dict) -> None:
    """The baseline's sidecar (`baseline.sidecar`, hashed at export as `baseline.sidecar_sha256`)."""
    baseline = manifest.get("baseline") or {}
    sidecar = baseline.get("sidecar")
    if not isinstance(sidecar, str) or not sidecar:
        return
    if baseline.get("sidecar_sha256"):
        check_integrity(folder, {"file": sidecar, "sha256": baseline["sidecar_sha256"]}, "baseline.sidecar")
    elif (Path(folder) / sidecar).exists() or (Path(folder) / sidecar).is_symlink():
        contained_file(folder, sidecar, "baseline.sidecar")
