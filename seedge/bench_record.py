"""bench.json: what `seedge bench` measured in an export folder, for the runtime's choice.

`seedge bench DIR` flags an artifact that was slower than eager PyTorch, or an FP16 artifact
slower than the FP32 one of its backend (seedge.bench.run.flag_slow_rows: by p50 and in most
interleaved rounds), and records each artifact's p50 per batch. It writes both here, per device
family, with the machine, the load and the date; the device runtime (Python `seedge.runtime`
and the C++ runtime) orders its choice by them (the rule below).

Layout (schema 1), one entry per device family benched; a new bench replaces its family's entry:
    {"schema": 1, "devices": {"cpu": {"measured": ISO time, "machine": CPU or GPU name,
        "contended": bool, "load_average": [..], "threads": N, "batches": [..],
        "slow": {"onnx-fp16": ["fp16_slower_than_fp32 at batch 1"], ...},
        "p50_ms": {"onnx-fp32": {"1": 1.80, "8": 4.84}, "eager": {...}, ...}}}}
"p50_ms" holds this folder's rows only (no peers; "eager" is the baseline, not an artifact), each
measured by the artifact's own backend: rows of a second reader (`seedge bench --backend openvino`
timing the ONNX files on OpenVINO: "artifact_backend" in the row) are not recorded at all, neither
p50 nor flag. It was added without a schema bump: an entry without it
(written before) is valid and orders statically, and runtimes built before it ignore it, so a
new file still runs on an old device build. What each field must be on read is the contract's
(seedge.contract.bench, checked the same in Python and C++): "slow" maps ids to lists of
strings, "p50_ms" maps ids to {batch as a positive decimal integer string: positive finite ms},
"contended", if present, is a bool; "schema" is the integer 1.

THE RULE (the runtime's choice; seedge/runtime/model.py `candidates` and the C++
seedge/runtime/cpp/src/selection.cpp `candidates` implement it, tests/runtime check they agree):
  1. An explicit artifact id is the only candidate. Otherwise artifacts whose recorded parity
     failed, and those flagged slow on this device family, are never chosen (all usable ones
     flagged: an error); an explicit backend keeps only artifacts it can read. Artifacts this
     CPU refuses (int8_cpu vnni without VNNI/AMX, seedge.backends.cpu_features) are not
     candidates: they neither run nor lend their p50 to a group.
  2. The rest fall into groups (backend, precision) in the order of RUNTIME_PREFERENCE
     (seedge/backends/table.py); with an explicit backend, a group also takes, after its own
     artifacts, the files of that precision the backend reads though made for another (OpenVINO
     reads the ONNX files). Within a group an artifact with the preprocessing inside comes
     before its plain sibling, otherwise the manifest's order.
  3. A group's measured latency is the lowest p50, at the smallest batch in the entry's p50_ms
     (batch 1 normally), of its own artifacts (same backend and precision, usable by step 1);
     the other-backend files of step 2 do not count: their p50 was taken on another backend.
  4. Groups with a measured latency come first, fastest first; groups with equal latency and
     groups without one keep RUNTIME_PREFERENCE's order (a stable sort).
  5. An entry that says "contended": true orders by step 2 only (a busy machine's p50s
     mislead); its slow flags still apply. So does an entry without p50_ms, or none at all.
Torch-free: the runtime reads it on devices without torch.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from seedge import contract
from seedge.artifacts import contained_file
from seedge.contract.bench import BENCH_RECORD, MAX_BENCH_BYTES, SCHEMA
from seedge.errors import SeedgeError
from seedge.fileio import atomic_write, now_iso, read_bounded

# The file's name, layout version and size bound are the contract's (seedge.contract.bench).


def _family(device: str) -> str:
    return "cuda" if str(device).startswith("cuda") else "cpu"


def _p50(ms) -> bool:
    """A usable latency: a positive finite number (a JSON bool is not one). A JSON integer too
    large for a float (1e999 written out) is not one either: math.isfinite would raise on it."""
    if not isinstance(ms, (int, float)) or isinstance(ms, bool):
        return False
    try:
        return math.isfinite(ms) and ms > 0
    except OverflowError:
        return False


def record_entry(result: dict, folder: str) -> dict:
    """The entry of one folder and device family from a run_bench / run_bench_many result."""
    env, st = result["environment"], result["settings"]
    slow: dict[str, list[str]] = {}
    p50: dict[str, dict[str, float]] = {}
    for row in result["results"]:
        # A second reader's row (another backend reading the artifact's file, seedge.bench.plan) is
        # not the artifact's own latency nor its flag: the rule's step 3 reads p50s per own backend.
        if row.get("folder") not in (None, str(folder)) or row.get("peer") or row.get("artifact_backend"):
            continue
        if row.get("flag"):
            slow.setdefault(row["artifact"], []).extend(f"{f} at batch {row['batch']}" for f in row["flag"])
        if _p50(row.get("p50_ms")):
            p50.setdefault(row["artifact"], {})[str(int(row["batch"]))] = float(row["p50_ms"])
    return {
        "measured": now_iso(),
        "machine": env.get("cpu_model") if env.get("device") == "cpu" else env.get("gpu"),
        "contended": bool(env.get("contended")),
        "load_average": env.get("load_average"),
        "threads": st.get("threads"),
        "batches": st.get("batches"),
        "slow": slow,
        "p50_ms": p50,
    }


def write_record(folder: str | Path, result: dict) -> Path:
    """Merge this run's entry for its device family into FOLDER/bench.json (atomic)."""
    folder = Path(folder)
    path = folder / BENCH_RECORD
    try:
        record = read_record(folder)
    except SeedgeError:
        record = {}  # an unreadable old record is replaced by this run's, never merged into
    devices = dict(record.get("devices") or {})
    devices[_family(result["environment"].get("device", "cpu"))] = record_entry(result, str(folder))
    atomic_write(path, json.dumps({"schema": SCHEMA, "devices": devices}, indent=2) + "\n")
    return path


def read_record(folder: str | Path) -> dict:
    """FOLDER/bench.json as written by write_record, {} when there is none; checked by the
    contract's rules (seedge.contract.bench, which the C++ runtime's read_bench checks too)."""
    path = Path(folder) / BENCH_RECORD
    if not os.path.lexists(path):
        return {}
    # Inside the folder and a regular file, as the manifest (and as the C++ runtime reads it).
    checked = contained_file(folder, BENCH_RECORD, BENCH_RECORD)
    try:
        record = contract.parse(read_bounded(checked, MAX_BENCH_BYTES, "bench record"))
    except ValueError as e:
        raise SeedgeError(f"{path}: not valid JSON ({e}); {contract.bench.FIX}") from None
    contract.check(contract.bench.DOCUMENT, record, path)
    return record


def slow_artifacts(folder: str | Path, device: str = "cpu") -> dict[str, list[str]]:
    """{artifact id: why it is flagged} from the last bench of FOLDER on `device`'s family."""
    entry = (read_record(folder).get("devices") or {}).get(_family(device)) or {}
    return {str(k): [str(x) for x in v] for k, v in entry.get("slow", {}).items()}


def timings(folder: str | Path, device: str = "cpu") -> dict | None:
    """The p50s the rule orders by, from the last bench of FOLDER on `device`'s family:
    {"family", "batch" (the smallest measured), "p50_ms": {id: ms at that batch}, "measured"
    (its date, or "undated"), "contended"}; None when that bench recorded no p50."""
    family = _family(device)
    entry = (read_record(folder).get("devices") or {}).get(family) or {}
    p50 = entry.get("p50_ms") or {}
    batches = sorted({int(b) for per in p50.values() for b in per})
    if not batches:
        return None
    b = str(batches[0])
    measured = entry.get("measured")
    return {
        "family": family,
        "batch": batches[0],
        "p50_ms": {k: v[b] for k, v in p50.items() if b in v},
        "measured": measured if isinstance(measured, str) else "undated",
        "contended": bool(entry.get("contended")),
    }
