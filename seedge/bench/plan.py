"""What a bench run times: (artifact, backend) pairs per folder, plus eager, peers and copies.

A pair is runnable when the backend reads the artifact's format (seedge.backends.table `reads`),
so a runtime that opens an existing format (OpenVINO reading the ONNX files) is timed without a
builder writing a second copy of the file:
- no backend asked for: each artifact on the backend recorded with it in the manifest, where that
  is installed (the rest are listed as skipped, with why);
- backends asked for (`--backend onnxruntime --backend openvino`): every artifact each of them
  reads, so `onnx-int8` is timed on ONNX Runtime and on OpenVINO in the same rounds.
A row of a pair whose backend is not the artifact's own says so (`artifact_backend`), and
seedge.bench_record leaves such rows out of bench.json: its p50s are each artifact's on its own
backend, which is what the runtime's rule (step 3) reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seedge.backends.table import (
    ARTIFACT_BACKENDS,
    BACKENDS,
    backend,
    compiled_for,
    device_family,
    installed_backends,
    reads,
    runs_on,
)
from seedge.bench.peers import PeerSpec
from seedge.errors import SeedgeError, unknown

EAGER_ID = "eager"
COPY_ID = "copy"
_EAGER = {"id": EAGER_ID, "backend": "torch", "format": "eager", "precision": "fp32"}
_COPY = {"id": COPY_ID, "backend": "torch", "format": "copy", "precision": "fp32"}


@dataclass
class Entry:
    key: str  # name in the timing loop
    folder: int  # index into the folders
    art: dict  # manifest artifact entry (or the eager / peer / copy stand-in)
    kind: str  # "eager", "peer", "artifact" or "copy"
    backend: str  # what runs it: the artifact's own backend or another that reads its format

    @property
    def second_reader(self) -> bool:
        """Run by a backend other than the one recorded with the artifact."""
        return self.backend != self.art["backend"]


def select_pairs(folder: Path, manifest: dict, backends, device: str) -> tuple[list[tuple[dict, str]], list[dict]]:
    """The (artifact, backend) pairs to time and the artifacts left out (with why); see the
    module docstring. An asked-for backend must be known, installed, able to run on `device` and
    read some artifact of the manifest (else SeedgeError)."""
    arts = manifest.get("artifacts", [])
    skipped: list[dict] = []
    if backends:
        wanted = list(dict.fromkeys(backends))
        for name in wanted:
            _check_asked(folder, arts, name, device)
        pairs = [(a, b) for a in arts for b in wanted if reads(b, a)]
    else:
        have = installed_backends()
        pairs = [(a, a["backend"]) for a in arts if a["backend"] in have]
        skipped += [_skip(a, a["backend"], "backend not installed") for a in arts if a["backend"] not in have]
    chosen = []
    for a, b in pairs:
        built_for = compiled_for(a)
        if not runs_on(b, device):
            skipped.append(_skip(a, b, f"does not run on {device}"))
        elif built_for and built_for != device_family(device):
            skipped.append(
                _skip(
                    a,
                    b,
                    f"compiled for {built_for}; re-export with --device {device_family(device)} to time it on {device}",
                )
            )
        else:
            chosen.append((a, b))
    return chosen, skipped


def _skip(art: dict, name: str, reason: str) -> dict:
    return {"artifact": art["id"], "backend": name, "reason": reason}


def _check_asked(folder: Path, arts: list[dict], name: str, device: str) -> None:
    have = installed_backends()
    if name not in BACKENDS:
        raise unknown("backend", name, BACKENDS)
    if name not in have:
        raise SeedgeError(
            f"--backend {name!r}: not installed here (no '{backend(name).package}' package); "
            f"installed: {', '.join(have)}"
        )
    if not runs_on(name, device):
        raise SeedgeError(
            f"--backend {name!r} does not run on --device {device}; it runs on {', '.join(backend(name).devices)}"
        )
    if name in ARTIFACT_BACKENDS and not any(reads(name, a) for a in arts):  # torch: the eager baseline
        formats = sorted({a["format"] for a in arts})
        raise SeedgeError(
            f"{folder}: no '{name}' artifact in the manifest ({name} reads "
            f"{', '.join(backend(name).reads)}; "
            f"formats there: {', '.join(formats) or 'none'}); export it first"
        )


def plan(
    folders: list[Path], manifests: list[dict], backends, device: str, peer_specs: list[PeerSpec], include_copy: bool
) -> tuple[list[Entry], list[dict]]:
    """Every folder's entries in timing-loop order (eager, peers, artifact pairs, copies) and the
    artifacts left out, each naming its folder."""
    labels = folder_labels(folders) if len(folders) > 1 else [""]
    entries: list[Entry] = []
    skipped: list[dict] = []
    for i, (folder, manifest) in enumerate(zip(folders, manifests, strict=True)):
        pairs, left_out = select_pairs(folder, manifest, backends, device)
        skipped += [{**s, "folder": str(folder)} for s in left_out]
        prefix = f"{labels[i]}/" if labels[i] else ""
        entries.append(Entry(f"{prefix}{EAGER_ID}", i, _EAGER, "eager", "torch"))
        entries += [Entry(f"{prefix}{p.artifact}", i, _peer_entry(p), "peer", "torch") for p in peer_specs]
        # a second reader's key names its backend: the same file is timed once per reader
        entries += [
            Entry(f"{prefix}{a['id']}" + ("" if b == a["backend"] else f"@{b}"), i, a, "artifact", b) for a, b in pairs
        ]
        if include_copy:
            entries.append(Entry(f"{prefix}{COPY_ID}", i, _COPY, "copy", "torch"))
    return entries, skipped


def _peer_entry(spec: PeerSpec) -> dict:
    return {
        "id": spec.artifact,
        "backend": "torch",
        "format": spec.format,
        "precision": spec.precision,
        "peer": spec.name,
    }


def eager_key(entries: list[Entry], folder: int) -> str:
    """The timing-loop key of folder `folder`'s eager baseline."""
    return next(e.key for e in entries if e.folder == folder and e.kind == "eager")


def folder_labels(folders: list[Path]) -> list[str]:
    """Short unique names for the timing loop: the folder names, or the full paths where two match."""
    names = [f.name or str(f) for f in folders]
    return names if len(set(names)) == len(names) else [str(f) for f in folders]
