"""Which float precision the openvino-fp16 artifact computes in, chosen by measurement.

An FP16 IR stores FP16 weights; what it *computes* in is the CPU plugin's
INFERENCE_PRECISION_HINT. f32 is exact but no faster than the FP32 IR. CPUs with AMX or
AVX512-BF16/FP16 offer 16-bit float execution (bf16, and f16 where the plugin lists FP16
in OPTIMIZATION_CAPABILITIES): on SE-ResNet-50 at batch 1, 2 threads, bf16 ran 3.4x faster
than f32 and kept every answer (benchmarks/README.md, settings sweep). So each 16-bit
precision the CPU offers is run by the same runner `seedge verify` uses, on the export's
labelled verification images, checked against the eager model's logits with the fp16
parity thresholds, and timed at batch 1 in interleaved rounds beside f32; the fastest one
that passes is recorded. Without labelled images to judge by, f32 is kept: a 16-bit
choice must be proven on real data first.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from seedge.hostcpu import default_threads

SIXTEEN_BIT = (("bf16", "BF16"), ("f16", "FP16"))  # (hint value, OPTIMIZATION_CAPABILITIES entry)
LATENCY_NOISE = 0.05  # a 16-bit precision must beat f32 by more than this to be kept
# A 16-bit precision must keep this share of the disagreements the fp16 bar allows unused:
# verify re-runs it on the same images, but an export whose fp16 artifact then misses the bar
# by one image is not published at all, so the choice leaves a margin.
MARGIN = 0.5


def cpu_sixteen_bit_precisions() -> list[str]:
    import openvino as ov

    caps = set(ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
    return [hint for hint, cap in SIXTEEN_BIT if cap in caps]


def choose_fp16_execution(
    xml_path: str | Path,
    ref_logits: np.ndarray | None,
    eval_x: np.ndarray | None,
    threads: int | None = None,
    candidates: list[str] | None = None,
) -> dict:
    """Build facts: `inference_precision` plus every candidate's parity and batch-1 p50.

    `eval_x`: the images verify will check (reference inputs + labelled data);
    `ref_logits`: the eager model's logits on them (what verify compares against).
    `threads`: what the candidates are timed at; default the device's own count
    (seedge.hostcpu.default_threads), recorded as `timed_threads`.
    """
    from seedge.backends.openvino import OpenVINORunner
    from seedge.quantize import measure
    from seedge.verify import DEFAULT_BATCH, run_batched
    from seedge.verify.parity import compare, passed, thresholds_for

    threads = int(threads) if threads else default_threads()
    sixteen = cpu_sixteen_bit_precisions() if candidates is None else list(candidates)
    if not sixteen:
        return {"inference_precision": "f32", "why": "this CPU offers no 16-bit float execution to OpenVINO"}
    if eval_x is None or len(eval_x) == 0 or ref_logits is None:
        return {
            "inference_precision": "f32",
            "why": f"no labelled verification images to prove {'/'.join(sixteen)} parity on; kept f32",
        }
    bar = thresholds_for("fp16")["min_agreement"] or 0.0
    strict_agreement = 1.0 - (1.0 - bar) * MARGIN
    results: list[dict] = []
    calls: dict[str, Callable[[], object]] = {}
    with ExitStack() as open_runners:  # every runner stays open until the timing is done
        for prec in ["f32", *sixteen]:
            runner = open_runners.enter_context(OpenVINORunner(xml_path, threads=threads, inference_precision=prec))
            # The same batching verify uses, so the answers judged here are the ones verify will see.
            m = compare(ref_logits, run_batched(runner, runner.input_name, eval_x, DEFAULT_BATCH))
            ok, reason = passed(m, "fp16", {"min_agreement": strict_agreement} if prec != "f32" else None)
            results.append(
                {
                    "inference_precision": prec,
                    "top1_agreement": m["top1_agreement"],
                    "max_abs_diff": m["max_abs_diff"],
                    "parity": "pass" if ok else reason,
                }
            )
            calls[prec] = measure.infer_call(runner, eval_x[:1])  # batch 1, as the device serves one image
        p50 = measure.interleaved_p50_ms(calls, rounds=20)
    for r in results:
        r["p50_ms_batch1"] = round(p50[r["inference_precision"]], 4)
    f32 = results[0]
    fast = [
        r
        for r in results[1:]
        if r["parity"] == "pass" and r["p50_ms_batch1"] < f32["p50_ms_batch1"] * (1 - LATENCY_NOISE)
    ]
    best = min(fast, key=lambda r: r["p50_ms_batch1"]) if fast else f32
    why = (
        f"{best['inference_precision']}: fastest at batch 1 ({best['p50_ms_batch1']:.3f} ms vs f32 "
        f"{f32['p50_ms_batch1']:.3f} ms) with fp16 parity (agreement >= {strict_agreement:.2%}) "
        f"on {len(eval_x)} images"
        if best is not f32
        else f"f32: no 16-bit precision both passed fp16 parity and beat f32 by more than {LATENCY_NOISE:.0%}"
    )
    return {
        "inference_precision": best["inference_precision"],
        "why": why,
        "candidates": results,
        "timed_threads": threads,
    }
