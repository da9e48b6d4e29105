"""bench.json: what `seedge bench` found slow in an export folder, for the runtime's choice.

`seedge bench DIR` flags an artifact that was slower than eager PyTorch, or an FP16 artifact
slower than the FP32 one of its backend (seedge.bench.run.flag_slow_rows: by p50 and in most
interleaved rounds). It writes those flags here, per device family, with the machine, the load
and the date; the device runtime (Python `seedge.runtime` and the C++ runtime) never picks a
flagged artifact on its own, only when it is asked for by id.

Layout (schema 1), one entry per device family benched; a new bench replaces its family's entry:
    {"schema": 1, "devices": {"cpu": {"measured": ISO time, "machine": CPU or GPU name,
        "contended": bool, "load_average": [..], "threads": N, "batches": [..],
        "slow": {"onnx-fp16": ["fp16_slower_than_fp32 at batch 1"], ...}}}}
Torch-free: the runtime reads it on devices without torch.
"""

from __future__ import annotations

import json
from pathlib import Path

from seedge.artifacts import atomic_write, now_iso, read_bounded
from seedge.errors import SeedgeError

BENCH_RECORD = "bench.json"
SCHEMA = 1
_MAX_BYTES = 1 << 20


def _family(device: str) -> str:
    return "cuda" if str(device).startswith("cuda") else "cpu"


def record_entry(result: dict, folder: str) -> dict:
    """The entry of one folder and device family from a run_bench / run_bench_many result."""
    env, st = result["environment"], result["settings"]
    slow: dict[str, list[str]] = {}
    for row in result["results"]:
        if row.get("folder") not in (None, str(folder)) or not row.get("flag") or row.get("peer"):
            continue
        slow.setdefault(row["artifact"], []).extend(f"{f} at batch {row['batch']}" for f in row["flag"])
    return {"measured": now_iso(), "machine": env.get("cpu_model") if env.get("device") == "cpu" else env.get("gpu"),
            "contended": bool(env.get("contended")), "load_average": env.get("load_average"),
            "threads": st.get("threads"), "batches": st.get("batches"), "slow": slow}


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
    """FOLDER/bench.json as written by write_record, {} when there is none."""
    path = Path(folder) / BENCH_RECORD
    if not path.exists():
        return {}
    try:
        record = json.loads(read_bounded(path, _MAX_BYTES, "bench record"))
    except ValueError as e:
        raise SeedgeError(f"{path}: not valid JSON ({e}); delete it or run `seedge bench` again") from None
    devices = record.get("devices") if isinstance(record, dict) else None
    if not isinstance(devices, dict) or record.get("schema") != SCHEMA or not all(
            isinstance(d, dict) and isinstance(d.get("slow"), dict) for d in devices.values()):
        raise SeedgeError(f"{path}: not a seedge bench record (schema {SCHEMA} with devices.*.slow); "
                          f"delete it or run `seedge bench` again")
    return record


def slow_artifacts(folder: str | Path, device: str = "cpu") -> dict[str, list[str]]:
    """{artifact id: why it is flagged} from the last bench of FOLDER on `device`'s family."""
    entry = (read_record(folder).get("devices") or {}).get(_family(device)) or {}
    return {str(k): [str(x) for x in v] for k, v in entry.get("slow", {}).items()}
