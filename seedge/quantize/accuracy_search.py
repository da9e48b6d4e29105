"""`export --max-drop P`: find the fewest blocks to keep in float so INT8 stays within P points.

The search itself is seedge.quantize.sensitivity's: every block is measured alone in INT8,
then the most sensitive blocks go to float one at a time until the accuracy drop on the
labelled validation images is within P, and blocks the bound does not need go back to INT8.
It runs on the FP32 ONNX graph the export quantizes, with the export's calibration images,
method and policy, and the Q/DQ graph for ONNX Runtime on a CPU (the onnx-int8 artifact; the
OpenVINO INT8 IR is built from the same exclusions). This module turns that into what an
export needs: one-line refusals before the work, the record the manifest keeps
(`int8_search`), and a CheckFailed when even every candidate block in float misses P.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from seedge.errors import CheckFailed, SeedgeError
from seedge.quantize.calibration import DEFAULT_METHOD
from seedge.quantize.policy import DEFAULT_POLICY


def check_max_drop(max_drop: float | None, precisions) -> None:
    """The refusals of --max-drop that need no data (SeedgeError, exit 2), before any work."""
    if max_drop is None:
        return
    if not np.isfinite(max_drop) or max_drop < 0:
        raise SeedgeError(f"--max-drop {max_drop}: give 0 or more accuracy points")
    if "int8" not in tuple(precisions):
        raise SeedgeError(
            f"--max-drop {max_drop:g} searches which blocks INT8 keeps in float: add int8 to --precisions"
        )


def check_labelled(max_drop: float, labelled: bool, data_source: str | None) -> None:
    """Without labelled validation images there is no accuracy drop to measure: one line, exit 2."""
    if not labelled:
        what = f"{data_source} gave no labels of the model's classes" if data_source else "no data was given"
        raise SeedgeError(
            f"--max-drop {max_drop:g} cannot search without labelled validation images ({what}); "
            f"pass --calib SRC with labels (digits, an ImageFolder or a CSV of path,label rows)"
        )


def max_drop_thresholds(max_drop: float, thresholds: dict | None) -> dict:
    """Parity overrides with the int8 accuracy-drop gate at `max_drop`, unless the caller set one:
    the verified artifacts are held to the bound the search met."""
    int8 = dict((thresholds or {}).get("int8") or {})
    int8.setdefault("max_accuracy_drop", float(max_drop))
    return {**(thresholds or {}), "int8": int8}


def search_exclusions(
    model_onnx: str | Path,
    calib: np.ndarray,
    eval_x: np.ndarray,
    eval_y: np.ndarray,
    max_drop: float,
    method: str = DEFAULT_METHOD,
    policy: str = DEFAULT_POLICY,
    exclude=(),
    min_agreement: float | None = None,
    progress: Callable[[str], None] | None = None,
    int8_cpu: str = "auto",
) -> dict:
    """The manifest's `int8_search` record: the modules to keep in float (besides `exclude`) and how
    they were found. Raises CheckFailed when even every candidate block in float misses `max_drop`.

    min_agreement: the int8 parity gate's top-1 agreement, which a step must also reach: a search
    that met the drop only to fail verification would publish nothing.
    """
    from seedge.quantize.sensitivity import block_sensitivity, require_labels

    y = require_labels(eval_y)
    if y is None:
        raise SeedgeError(f"--max-drop {max_drop:g} needs labelled validation images; the data has none")
    report = block_sensitivity(
        model_onnx,
        calib,
        eval_x,
        y,
        method=method,
        policy=policy,
        max_drop=max_drop,
        progress=progress,
        exclude=tuple(exclude),
        min_agreement=min_agreement,
        int8_cpu=int8_cpu,
    )
    fb = report["fallback"]
    record = {
        "max_drop_points": float(max_drop),
        "min_agreement": min_agreement,
        "met": fb["met"],
        "exclude": fb["exclude"],
        "user_exclude": list(exclude),
        "final": fb["final"],
        "fp32_accuracy": report["fp32"]["accuracy"],
        "steps": fb["steps"],
        "ranking": [
            {k: b[k] for k in ("module", "accuracy_drop_points", "top1_agreement", "sqnr_db")} for b in report["blocks"]
        ],
        # blocks kept in float out of the candidate blocks: near 1, the "INT8" artifact is mostly
        # float and runs near FP32 speed, which the summary says rather than letting it pass quietly
        "float_blocks": [len(fb["exclude"]), len(report["blocks"])],
        "eval_samples": report["eval_samples"],
        "calibration_samples": report["calibration_samples"],
        "method": method,
        "policy": policy,
        "int8_cpu": report["int8_cpu"],
        "measured_on": "onnxruntime, the Q/DQ graph of onnx-int8 (cpu target), against the FP32 ONNX model",
    }
    if not fb["met"]:
        final = fb["final"]
        agree = (
            ""
            if min_agreement is None
            else (f" and {final['top1_agreement']:.2%} top-1 agreement (the int8 gate is {min_agreement:.2%})")
        )
        raise CheckFailed(
            f"--max-drop {max_drop:g} not reachable: INT8 stays {final['drop_points']:.2f} points "
            f"below FP32{agree} even with all {len(fb['exclude'])} candidate blocks in float; "
            f"nothing was published: allow a larger drop or export fp32/fp16"
        )
    return record
