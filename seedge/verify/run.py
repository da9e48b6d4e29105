"""Verify an export folder: every artifact against the eager FP32 model, on the same inputs.

Inputs are the folder's `reference.npz` "input" (always) plus the user's labelled data
when given. The baseline is the eager PyTorch model rebuilt from the folder itself, run
on the same device as the artifacts, so the comparison holds only the artifact's own
error. Reads a folder and a manifest, never a live object from the export stage.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from seedge.artifacts import REFERENCE, find_artifact, read_reference
from seedge.backends import open_artifact, open_baseline
from seedge.backends.table import backend, device_for, reads
from seedge.errors import SeedgeError, message_line
from seedge.preprocess.pixels import gives_probabilities, pixels_for, pixels_from_tensor, takes_pixels
from seedge.verify.folder_files import check_baseline_sidecar, check_raw_reference
from seedge.verify.parity import compare, judge, recorded_thresholds, with_overrides
from seedge.verify.shapes import check_declared_shapes, check_width

DEFAULT_BATCH = 64
# Rows an artifact with a dynamic batch also runs one at a time: a graph that claims any batch but
# holds a batch-1 (or batch >= 2) path shows it here (issue 23: torch's 0/1 specialization).
SINGLE_ROWS = 4


def load_reference(folder: Path, manifest: dict) -> np.ndarray:
    """reference.npz's inputs (read by seedge.artifacts.read_reference: inside the folder, no
    pickle, size-bounded), checked against the model's input shape."""
    x = np.asarray(read_reference(folder, manifest)["input"], dtype=np.float32)
    _check_input_shape(x, manifest, Path(folder) / REFERENCE)
    return x


def _check_input_shape(x: np.ndarray, manifest: dict, where) -> None:
    expected = [d for d in (manifest.get("input") or {}).get("shape", [])[1:]]
    if x.ndim != 4 or (expected and list(x.shape[1:]) != expected):
        raise SeedgeError(
            f"{where}: inputs have shape {list(x.shape)}, the model takes "
            f"[batch, {', '.join(map(str, expected))}]; check --data and the preprocessing"
        )


def model_class_names(manifest: dict) -> list[str]:
    """The model's classes in output order; "0".."N-1" when the manifest names none."""
    model = manifest.get("model") or {}
    names = model.get("class_names")
    return [str(c) for c in names] if names else [str(i) for i in range(int(model.get("num_classes") or 0))]


def check_class_names(manifest: dict, class_names: list[str] | None) -> np.ndarray | None:
    """Where each of the data's classes sits among the model's outputs, matched by name.

    Returns an index array (data class i -> model output `mapping[i]`), or None without
    class names. Never by position: also when the model's classes are "0".."N-1", a folder
    holding only digits 3 and 7 is scored against outputs 3 and 7. A data class the model
    does not have is a SeedgeError naming it.
    """
    if not class_names:
        return None
    names = model_class_names(manifest)
    index = {c: i for i, c in enumerate(names)}
    unknown = [str(c) for c in class_names if str(c) not in index]
    if unknown:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise SeedgeError(
            f"the data's class '{unknown[0]}'{more} is not one of the model's classes "
            f"({_short(names)}); labels are matched by name: pass data with the model's classes"
        )
    return np.array([index[str(c)] for c in class_names], dtype=np.int64)


def _short(names: list[str], n: int = 10) -> str:
    return ", ".join(names[:n]) + (f", ... ({len(names)} in all)" if len(names) > n else "")


def run_batched(
    runner,
    name: str,
    x: np.ndarray,
    batch: int,
    fixed_batch: int | None = None,
    classes: int | None = None,
    where: str = "artifact",
) -> np.ndarray:
    """Logits for `x`, `batch` rows at a time; a fixed-batch model gets its last batch padded.
    `classes`: the width each call's logits must have (outputs.check_width), named as `where`."""
    outs = []
    step = fixed_batch or batch
    for i in range(0, len(x), step):
        chunk = x[i : i + step]
        n = len(chunk)
        if fixed_batch and n < fixed_batch:
            chunk = np.concatenate([chunk, np.zeros((fixed_batch - n, *chunk.shape[1:]), chunk.dtype)])
        out = runner.infer({name: chunk})[0]
        outs.append((np.asarray(out) if classes is None else check_width(out, classes, where))[:n])
    return np.concatenate(outs) if outs else np.zeros((0, 0), np.float32)


def _select(manifest: dict, artifacts, backends=None) -> list[tuple[dict, str]]:
    """(artifact, backend) pairs to verify: each artifact on the backend recorded with it, or, with
    `backends`, on every named backend that reads its format (`--backend openvino` verifies the
    ONNX files on OpenVINO too: a second reader needs no builder). A named backend that reads none
    of the artifacts is a SeedgeError."""
    arts = (
        list(manifest.get("artifacts") or [])
        if artifacts is None
        else [find_artifact(manifest, a) if isinstance(a, str) else a for a in artifacts]
    )
    if not backends:
        return [(a, a["backend"]) for a in arts]
    for name in dict.fromkeys(backends):
        if not any(reads(name, a) for a in arts):
            raise SeedgeError(
                f"--backend {name!r}: none of the artifacts to verify is in a format it reads "
                f"({', '.join(backend(name).reads)}; formats there: "
                f"{', '.join(sorted({a['format'] for a in arts})) or 'none'})"
            )
    return [(a, name) for a in arts for name in dict.fromkeys(backends) if reads(name, a)]


def batching(manifest: dict, artifact: dict) -> tuple[int | None, int]:
    """(fixed batch of the model input or None, rows per call) for an artifact: how verify and
    the device runtime split a large input (a TensorRT engine's profile caps the batch)."""
    dim0 = ((manifest.get("input") or {}).get("shape") or [None])[0]
    fixed = dim0 if isinstance(dim0, int) else None
    max_batch = (artifact.get("build") or {}).get("max_batch")
    return fixed, int(min(DEFAULT_BATCH, max_batch)) if max_batch else DEFAULT_BATCH


def precision_note(desc: dict) -> str | None:
    """ "bf16 (CPU default)" when a runner computed in something other than FP32."""
    actual = desc.get("inference_precision")
    if not actual or actual == "f32":
        return None
    requested = desc.get("requested_precision")
    if requested is None:
        return f"{actual} ({str(desc.get('device', '')).upper()} default)"
    return f"{actual} (requested)" if requested == actual else f"{actual} (requested {requested})"


def verify_artifacts(
    folder: str | Path,
    manifest: dict,
    artifacts=None,
    data=None,
    device: str = "cpu",
    thresholds: dict[str, dict] | None = None,
    threads: int | None = None,
    on_step: Callable[[str], None] | None = None,
    backends=None,
    trust_native: bool = False,
) -> dict:
    """Run the baseline and each artifact; return the DESIGN's verify document.

    artifacts: ids or manifest entries (None: all). data: (x, y) or (x, y, class_names),
    x float32 NCHW preprocessed as the manifest says. Each artifact is judged by the gates its
    parity record kept at export (seedge.verify.parity.recorded_thresholds: a random-weight export
    gates fp16/int8 on cosine, --max-drop int8 on that drop), a default only for an older manifest;
    each row says which ("thresholds", "thresholds_source"). thresholds: explicit per-precision
    overrides on top, e.g. {"fp32": {"max_abs_diff": 1e-2}} (the export stage passes its gates so).
    on_step: called with a label before each run. backends: names of backends to run the artifacts
    on, each every artifact it reads (None: each artifact on its own backend; _select); a row names
    the backend it ran on, and a second reader's row also the artifact's own ("artifact_backend").
    trust_native: run native artifacts this machine did not build (seedge.trust; CLI --trust-native).
    """
    folder = Path(folder)
    pairs, gates = _pairs_and_gates(folder, manifest, artifacts, backends, thresholds)
    input_name = (manifest.get("input") or {}).get("name", "input")
    reference = read_reference(folder, manifest)
    x_ref = np.asarray(reference["input"], dtype=np.float32)
    _check_input_shape(x_ref, manifest, folder / REFERENCE)
    x, y = x_ref, np.full(len(x_ref), -1, np.int64)  # reference rows carry no label
    n_data = 0
    if data is not None:
        xd, yd = _data_rows(manifest, data)
        x, y, n_data = np.concatenate([x_ref, xd]), np.concatenate([y, yd]), len(xd)

    if on_step:
        on_step("baseline (torch eager)")
    base, baseline = _run_baseline(folder, manifest, reference, x, y, len(x_ref), device, threads, input_name)

    # Artifacts with the preprocessing inside get the pixels the same rows were made from, and
    # one with a softmax inside is held to the softmax of the eager logits.
    pixels = _pixels(manifest, reference, x) if any(takes_pixels(a) for a, _ in pairs) else None
    rows = []
    for (art, reader), gate in zip(pairs, gates, strict=True):
        if on_step:
            on_step(art["id"] if reader == art["backend"] else f"{art['id']} on {reader}")
        feed = pixels_for(art, pixels) if takes_pixels(art) and pixels is not None else x
        expected = softmax(base) if gives_probabilities(art) else base
        rows.append(
            _verify_one(
                folder, manifest, (art, reader), feed, y, expected, device, gate, threads, input_name, trust_native
            )
        )
    return {
        "folder": str(folder),
        "name": manifest.get("name"),
        "device": device,
        "samples": {"reference": len(x_ref), "data": n_data},
        "baseline": baseline,
        "artifacts": rows,
        "passed": all(r["passed"] for r in rows),
    }


def _pairs_and_gates(
    folder: Path, manifest: dict, artifacts, backends, thresholds: dict[str, dict] | None
) -> tuple[list[tuple[dict, str]], list]:
    """The (artifact, backend) pairs to verify and each one's gate, after the folder's raw
    reference and baseline sidecar are checked. Every gate is read (and a malformed one refused)
    before anything runs; no pairs at all is a SeedgeError."""
    pairs = _select(manifest, artifacts, backends)
    if not pairs:  # exit 0 would say "all passed" about nothing
        raise SeedgeError(
            f"{folder}: the manifest lists no artifacts, so there is nothing to verify; re-run `seedge export`"
        )
    check_raw_reference(folder, manifest)
    check_baseline_sidecar(folder, manifest)
    selected = [a for a, _ in pairs]
    gates = [
        with_overrides(*recorded_thresholds(a, manifest), (thresholds or {}).get(a["precision"])) for a in selected
    ]
    return pairs, gates


def _data_rows(manifest: dict, data) -> tuple[np.ndarray, np.ndarray]:
    """The user's (x, y[, class_names]) as float32 inputs and int64 labels on the model's outputs:
    shapes checked, and labels moved by class name when the data names its classes."""
    xd, yd = np.asarray(data[0], dtype=np.float32), np.asarray(data[1], dtype=np.int64)
    _check_input_shape(xd, manifest, "data")
    if len(xd) != len(yd):
        raise SeedgeError(f"data: {len(xd)} images but {len(yd)} labels")
    mapping = check_class_names(manifest, data[2]) if len(data) > 2 else None
    if mapping is not None:  # labels index the data's classes: move them onto the model's outputs
        if len(yd) and (yd.min() < 0 or yd.max() >= len(mapping)):
            raise SeedgeError(f"data: labels run from {yd.min()} to {yd.max()} but the data has {len(mapping)} classes")
        yd = mapping[yd]
    return xd, yd


def _run_baseline(
    folder: Path,
    manifest: dict,
    reference: dict,
    x: np.ndarray,
    y: np.ndarray,
    n_ref: int,
    device: str,
    threads: int | None,
    input_name: str,
) -> tuple[np.ndarray, dict]:
    """(eager FP32 logits for `x`, the verify document's "baseline" entry); the first `n_ref` rows
    are the reference's, compared with the logits recorded at export time."""
    fixed, classes = batching(manifest, {})[0], len(model_class_names(manifest))
    with open_baseline(folder, manifest, device=device, threads=threads) as runner:
        base = run_batched(runner, input_name, x, DEFAULT_BATCH, fixed, classes, "baseline")
        base_desc = runner.describe()
    base_metrics = compare(base, base, y)
    recorded = reference.get("logits")
    baseline = {
        "backend": "torch",
        "device": device,
        "precision": "fp32",
        "accuracy": base_metrics["accuracy"],
        "samples": len(x),
        "labelled": base_metrics["labelled"],
        # The eager model re-run here against the logits recorded at export time.
        "reference_max_abs_diff": (
            float(np.abs(base[:n_ref] - recorded).max())
            if recorded is not None and recorded.shape == base[:n_ref].shape
            else None
        ),
        "runner": base_desc,
    }
    return base, baseline


def _pixels(manifest: dict, reference: dict, x: np.ndarray) -> np.ndarray:
    """uint8 NHWC RGB pixels of the rows `x` (reference rows first, then the data's): the
    reference's stored pixels, and the data's recovered exactly from its preprocessed tensors."""
    spec = manifest["preprocessing"]
    n_ref = len(reference["input"])
    ref = reference.get("pixels")
    ref = ref if ref is not None else pixels_from_tensor(x[:n_ref], spec, str(REFERENCE))
    if len(x) == n_ref:
        return ref
    return np.concatenate([ref, pixels_from_tensor(x[n_ref:], spec, "data")])


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64, returned as float32 (what a softmax inside an artifact gives)."""
    z = np.exp(logits.astype(np.float64) - logits.max(axis=1, keepdims=True))
    return (z / z.sum(axis=1, keepdims=True)).astype(np.float32)


def _verify_one(folder, manifest, pair, x, y, base, device, gate, threads, input_name, trust_native) -> dict:
    """One (artifact, backend) pair's row; `gate`: (complete thresholds, where they come from). An
    artifact with a dynamic batch is run at two batch sizes (all rows `batch` at a time, then the
    first SINGLE_ROWS one at a time) and judged at both; one that fails to run, or whose file fixes
    the batch the manifest calls dynamic, is a failed row saying so, never an exception."""
    art, reader = pair
    dev = device_for(reader, device, art)
    fixed, batch = batching(manifest, art)
    classes, where = len(model_class_names(manifest)), f"artifact '{art['id']}'"
    single = None
    with open_artifact(
        folder, manifest, art, device=dev, threads=threads, backend_name=reader, trust_native=trust_native
    ) as runner:
        check_declared_shapes(runner, manifest, art, classes)
        failure = _fixed_batch_claim(runner, fixed)
        logits, failed = _run_rows(runner, input_name, x, batch, fixed, classes, where)
        failure = failure or failed
        if failure is None and fixed is None and len(x) > 1:
            single, failure = _run_rows(runner, input_name, x[:SINGLE_ROWS], 1, None, classes, where)
        desc = runner.describe()
    metrics = compare(base, logits, y)
    ok, reason = judge(metrics, gate[0])
    if ok and single is not None:  # the same rows as batch 1 gives them, judged by the same gates
        ok, at_one = judge(compare(base, np.concatenate([single, logits[len(single) :]]), y), gate[0])
        reason = reason if ok else f"at batch 1: {at_one} (at batch {min(batch, len(x))} it passes)"
    if failure:
        ok, reason = False, failure
    note = precision_note(desc)
    if note and not ok:
        reason += f"; ran in {note}"
    row = {
        "id": art["id"],
        "format": art["format"],
        "precision": art["precision"],
        "backend": reader,
        "device": dev,
        **metrics,
        "thresholds": gate[0],
        "thresholds_source": gate[1],
        "passed": ok,
        "reason": reason,
        "batch_sizes": [min(fixed or batch, len(x))] + ([1] if single is not None else []),
        # a softmax inside (--embed-softmax): max |diff| and SQNR are on probabilities
        "compared_on": "probabilities" if gives_probabilities(art) else "logits",
    }
    if reader != art["backend"]:  # a second reader: the same file, judged by the same recorded gates
        row["artifact_backend"] = art["backend"]
    if "inference_precision" in desc:
        row["inference_precision"] = desc["inference_precision"]
    row["note"] = note
    row["runner"] = desc
    return row


def _fixed_batch_claim(runner, fixed: int | None) -> str | None:
    """Why an artifact whose file fixes the batch cannot stand where the manifest says any batch."""
    declared = runner.declared_input_shape()
    if fixed is None and declared and isinstance(declared[0], int):
        return (
            f"the artifact takes batch {declared[0]} only, but the manifest says any batch "
            f"(input.shape[0]); re-run `seedge export`"
        )
    return None


def _run_rows(runner, name, x, batch, fixed, classes, where) -> tuple[np.ndarray, str | None]:
    """(logits, None), or (NaN logits, why) when the runner fails on a batch of this size: an
    artifact that cannot run is a failed parity row. A folder whose parts disagree (SeedgeError,
    e.g. the output width) still stops verify."""
    try:
        return run_batched(runner, name, x, batch, fixed, classes, where), None
    except SeedgeError:
        raise
    except Exception as e:  # noqa: BLE001 - each runtime raises its own types; the row says which
        n = min(fixed or batch, len(x))
        return np.full((len(x), classes), np.nan, np.float32), f"fails at batch {n}: {message_line(e, 300)}"
