"""Report rows of a bench run: one per (entry, batch), the copies' rows, and the slow flags.

A row names the backend it ran on; a row of a second reader (a backend other than the one
recorded with the artifact, seedge.bench.plan) also names the artifact's own backend
(`artifact_backend`), so bench.json can leave it out (seedge.bench_record).
"""

from __future__ import annotations

from seedge.bench.plan import EAGER_ID, Entry, eager_key
from seedge.bench.runners import describe

FLAG_SLOWER_THAN_EAGER = "slower_than_eager"
FLAG_FP16_SLOWER = "fp16_slower_than_fp32"


def batch_rows(
    entries: list[Entry], timed: dict, extra: dict, runners: dict, where: list[dict], batch: int, device: str
) -> tuple[list[dict], list[dict]]:
    """(result rows, copy rows) of one batch size from the interleaved loop's `timed` stats.
    `where`: per folder, the {"folder", "model"} every row of it carries."""
    round_p50 = {k: t.pop("round_p50_ms") for k, t in timed.items()}
    results, copies = [], []
    for e in entries:
        stats, rounds = timed[e.key], [round(x, 4) for x in round_p50[e.key]]
        if e.kind == "copy":
            copies.append(
                {**where[e.folder], "batch": batch, "device": device, **extra[e.key], **stats, "round_p50_ms": rounds}
            )
            continue
        base = eager_key(entries, e.folder)
        ratios = [a / b for a, b in zip(round_p50[base], round_p50[e.key], strict=False) if b > 0]
        row = {
            **where[e.folder],
            "artifact": e.art["id"],
            "backend": e.backend,
            "format": e.art.get("format"),
            "precision": e.art.get("precision"),
            "device": device,
            "batch": batch,
            **stats,
            "speedup_vs_eager": timed[base]["p50_ms"] / stats["p50_ms"],
            # the same ratio taken round by round: how steady it was on this machine
            "speedup_rounds": [round(x, 4) for x in ratios],
            "speedup_range": [round(min(ratios), 4), round(max(ratios), 4)] if ratios else None,
            "round_p50_ms": rounds,
            "inference_precision": (e.art.get("build") or {}).get("inference_precision"),
            "runner": describe(runners[e.key]),
        }
        if e.second_reader:
            row["artifact_backend"] = e.art["backend"]
            # the build's precision facts are the recorded backend's; describe() says what ran
            row["inference_precision"] = row["runner"].get("inference_precision")
        if e.kind == "peer":
            row.update(
                {
                    "peer": e.art["peer"],
                    "first_call_seconds": runners[e.key].first_call_seconds[batch],
                    "parity": extra[e.key],
                }
            )
        results.append(row)
    return results, copies


def flag_slow_rows(results: list[dict]) -> None:
    """Set each row's `flag` (a list, empty when none): `slower_than_eager`, or
    `fp16_slower_than_fp32` for an FP16 artifact against the fastest FP32 artifact of the same
    backend at the same batch. Slower means a higher p50 over all calls *and* in most rounds
    (round by round, the same interleaved rounds), so one noisy round cannot flag a tie."""
    fp32: dict = {}
    for r in results:
        if r["precision"] == "fp32" and r["artifact"] != EAGER_ID:
            key = (r["backend"], r["batch"])
            if key not in fp32 or r["p50_ms"] < fp32[key]["p50_ms"]:
                fp32[key] = r
    eager = {r["batch"]: r for r in results if r["artifact"] == EAGER_ID}
    for r in results:
        flags = []
        if r["artifact"] != EAGER_ID:
            if r["batch"] in eager and _slower(r, eager[r["batch"]]):
                flags.append(FLAG_SLOWER_THAN_EAGER)
            ref = fp32.get((r["backend"], r["batch"]))
            if r["precision"] == "fp16" and ref is not None and _slower(r, ref):
                flags.append(FLAG_FP16_SLOWER)
        r["flag"] = flags


def _slower(row: dict, ref: dict) -> bool:
    """`row` took longer than `ref`: by p50, and in more than half of the rounds both ran."""
    if row["p50_ms"] <= ref["p50_ms"]:
        return False
    pairs = list(zip(row.get("round_p50_ms") or [], ref.get("round_p50_ms") or [], strict=False))
    return not pairs or sum(a > b for a, b in pairs) * 2 > len(pairs)
