"""Parity of an artifact's logits with the eager FP32 model's, and the pass/fail rule.

Metrics: top-1 agreement, max abs logit diff, cosine similarity (mean of the
per-row cosines), accuracy against labels where labels exist. Also the max abs diff
relative to the logit scale (max |reference logit|), since 1e-3 means little on logits
in the hundreds and a lot on logits near 1e-2. Non-finite outputs make `finite` False
and every distance None (JSON has no NaN), and always fail.

Two measures of how much noise an artifact adds, which top-1 on an easy task cannot show
(issue 14: INT8 methods all within 0.3 point on digits differed from 13 to 34 dB):
- `sqnr_db`: logit signal-to-quantization-noise ratio, 10*log10(sum ref^2 / sum (ref-out)^2)
  over all logits of all images (torch.ao.ns's compute_sqnr: one ratio of energies, so a
  few badly hit images weigh in by their noise). Logits closer than float32 resolution
  (identical ones included) give SQNR_CEILING_DB, a finite number: JSON has no Infinity,
  and a null would read like "not measured".
- `kl_divergence`: KL(P_eager || Q_artifact) of the softmax outputs, natural log (nats),
  mean over images: the information lost when the artifact's probabilities stand in for
  the eager model's. Computed from log-softmax, so it stays finite for finite logits.
Both are reported, not gated: their scale depends on the model and the task (logit
magnitudes, number of classes), so no one floor separates good from bad artifacts; top-1
agreement and the accuracy drop are what a user's answers depend on and stay the gates.
The quantizers judge their candidates with these same functions (seedge.quantize).

Thresholds per precision are the DESIGN's defaults; any of them can be overridden
(`thresholds_for(precision, overrides)`); a threshold set to None is not checked.
Every artifact's parity record keeps the complete gates it was judged by at export
(`parity.thresholds`); verify and both device runtimes re-judge it by exactly those
(`recorded_thresholds`), a default only for a manifest older than that record.
"""

from __future__ import annotations

import numpy as np

from seedge.contract.manifest import THRESHOLD_KEYS
from seedge.errors import SeedgeError


def _gates(**given: float) -> dict[str, float | None]:
    """A complete set of gates (every THRESHOLD_KEYS, in its order), None where not `given`."""
    unknown = set(given) - set(THRESHOLD_KEYS)
    if unknown:
        raise ValueError(f"not parity thresholds: {sorted(unknown)}")
    return {k: given.get(k) for k in THRESHOLD_KEYS}


# agreement as a fraction; accuracy drop in percentage points; diffs in logit units; cosine in [-1, 1].
DEFAULT_THRESHOLDS: dict[str, dict[str, float | None]] = {
    "fp32": _gates(min_agreement=1.0, max_abs_diff=1e-3),
    "fp16": _gates(min_agreement=0.995),
    "int8": _gates(min_agreement=0.98, max_accuracy_drop=1.0),
}
# bf16 is reported by OpenVINO's CPU plugin; it is at least as coarse as fp16.
DEFAULT_THRESHOLDS["bf16"] = dict(DEFAULT_THRESHOLDS["fp16"])


# float32 has a 24-bit significand: noise below 2**-24 of the signal is rounding, not error.
SQNR_CEILING_DB = float(20 * np.log10(2.0**24))


def sqnr_db(ref_logits, logits) -> float:
    """Logit SQNR in dB over all values; SQNR_CEILING_DB (about 144.5) when the noise is at float32
    resolution or below, -SQNR_CEILING_DB when the reference is all zeros and the output is not."""
    ref = np.asarray(ref_logits, dtype=np.float64)
    noise = float(np.square(ref - np.asarray(logits, dtype=np.float64)).sum())
    signal = float(np.square(ref).sum())
    if noise <= signal * 10 ** (-SQNR_CEILING_DB / 10):
        return SQNR_CEILING_DB
    if signal == 0.0:
        return -SQNR_CEILING_DB
    return float(10 * np.log10(signal / noise))


def kl_divergence(ref_logits, logits) -> float:
    """Mean over rows of KL(softmax(ref) || softmax(logits)) in nats (natural log)."""
    ref = np.asarray(ref_logits, dtype=np.float64)
    out = np.asarray(logits, dtype=np.float64)
    log_p, log_q = _log_softmax(ref), _log_softmax(out)
    kl = (np.exp(log_p) * (log_p - log_q)).sum(1)
    # Rounding can make an exact match a hair below zero; KL is never negative.
    return float(np.maximum(kl, 0.0).mean()) if len(kl) else 0.0


def _log_softmax(a: np.ndarray) -> np.ndarray:
    shifted = a - a.max(1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(1, keepdims=True))


def thresholds_for(precision: str, overrides: dict | None = None) -> dict:
    """The thresholds for `precision`, with `overrides` (same keys) applied on top."""
    if precision not in DEFAULT_THRESHOLDS:
        raise SeedgeError(f"no parity thresholds for precision '{precision}'; known: {', '.join(DEFAULT_THRESHOLDS)}")
    return _apply(DEFAULT_THRESHOLDS[precision], overrides)


def _apply(thresholds: dict, overrides: dict | None) -> dict:
    t = dict(thresholds)
    for k, v in (overrides or {}).items():
        if k not in t:
            raise SeedgeError(f"unknown parity threshold '{k}'; known: {', '.join(t)}")
        t[k] = None if v is None else float(v)
    return t


def recorded_thresholds(entry: dict, manifest: dict) -> tuple[dict, str]:
    """(the complete gates artifact `entry` of `manifest` is judged by, where they come from).

    In order: the gates its parity record kept at export ("recorded"); for an export made
    before that record, the manifest-level `verification.thresholds` overrides of its precision
    on the defaults ("manifest (older export)"); else the defaults ("default (older export)",
    or "default" for an entry not judged yet, as in the export stage itself). `manifest` is one
    the contract checked (seedge.artifacts.read_manifest): its thresholds are objects of known
    gates, each a finite number or null, every one present in a parity record.
    """
    parity = entry.get("parity")
    if parity is not None and "thresholds" in parity:
        return _floats(parity["thresholds"]), "recorded"
    old = (manifest.get("verification") or {}).get("thresholds") or {}
    precision = str(entry["precision"])
    if precision in old:
        return thresholds_for(precision, _floats(old[precision])), "manifest (older export)"
    return thresholds_for(precision), "default (older export)" if parity is not None else "default"


def _floats(gates: dict) -> dict:
    """Checked gates as floats and None, in THRESHOLD_KEYS order."""
    return {k: None if gates[k] is None else float(gates[k]) for k in THRESHOLD_KEYS if k in gates}


def with_overrides(thresholds: dict, source: str, overrides: dict | None) -> tuple[dict, str]:
    """(`thresholds` with the caller's explicit `overrides` on top, the source saying so)."""
    if not overrides:
        return dict(thresholds), source
    return _apply(thresholds, overrides), f"{source} + override {', '.join(overrides)}"


def compare(ref_logits, logits, labels=None) -> dict:
    """Metrics of `logits` against the reference (eager FP32) logits on the same inputs.

    Agreement and accuracies are fractions in [0, 1]; `accuracy_drop_points` is in
    percentage points (the unit of the int8 threshold). `labels`: int class ids, one per
    row; a negative id marks a row without a label (e.g. the reference inputs).
    """
    ref = np.asarray(ref_logits, dtype=np.float64)
    out = np.asarray(logits, dtype=np.float64)
    if ref.shape != out.shape or ref.ndim != 2:
        raise ValueError(f"logits shapes differ or are not [N, classes]: {ref.shape} vs {out.shape}")
    n = ref.shape[0]
    finite = bool(np.isfinite(out).all())
    ref_top, out_top = ref.argmax(1), _argmax_nan_last(out)
    metrics = {
        "samples": n,
        "finite": finite,
        "top1_agreement": float((ref_top == out_top).mean()) if n else None,
        "max_abs_diff": None,
        "max_rel_diff": None,
        "cosine": None,
        "sqnr_db": None,
        "kl_divergence": None,
        "accuracy": None,
        "baseline_accuracy": None,
        "accuracy_drop_points": None,
        "labelled": 0,
    }
    if finite and n:
        diff = float(np.abs(ref - out).max())
        scale = float(np.abs(ref).max())
        metrics["max_abs_diff"] = diff
        # All-zero reference logits have no scale; the floor keeps the ratio finite (JSON-safe).
        metrics["max_rel_diff"] = diff / max(scale, 1e-12)
        norms = np.linalg.norm(ref, axis=1) * np.linalg.norm(out, axis=1)
        dots = (ref * out).sum(1)
        # Two all-zero rows are the same answer: cosine 1.
        cos = np.where(norms > 0, dots / np.where(norms > 0, norms, 1.0), np.where(dots == 0, 1.0, 0.0))
        metrics["cosine"] = float(cos.mean())
        metrics["sqnr_db"] = sqnr_db(ref, out)
        metrics["kl_divergence"] = kl_divergence(ref, out)
    if labels is not None:
        y = np.asarray(labels).astype(np.int64).reshape(-1)
        if len(y) != n:
            raise ValueError(f"{len(y)} labels for {n} rows of logits")
        has = y >= 0
        if has.any():
            ref_acc = float((ref_top[has] == y[has]).mean())
            acc = float((out_top[has] == y[has]).mean())
            metrics.update(
                labelled=int(has.sum()),
                accuracy=acc,
                baseline_accuracy=ref_acc,
                accuracy_drop_points=(ref_acc - acc) * 100.0,
            )
    return metrics


def _argmax_nan_last(a: np.ndarray) -> np.ndarray:
    # np.argmax picks a NaN as the maximum; a NaN row has no answer, count it as a disagreement.
    top = np.where(np.isnan(a), -np.inf, a).argmax(1)
    return np.where(np.isfinite(a).all(1), top, -1)


def passed(metrics: dict, precision: str, thresholds: dict | None = None) -> tuple[bool, str]:
    """(ok, reason). `thresholds`: overrides on the precision's defaults (see thresholds_for)."""
    return judge(metrics, thresholds_for(precision, thresholds))


def judge(metrics: dict, t: dict) -> tuple[bool, str]:
    """(ok, reason) of `metrics` against complete thresholds `t` (every key; None: not checked)."""
    if not metrics.get("finite", False):
        return False, "non-finite outputs (NaN or Inf)"
    if not metrics.get("samples"):
        return False, "no samples compared"
    fails = []
    agree = metrics.get("top1_agreement")
    if t["min_agreement"] is not None and agree < t["min_agreement"]:
        fails.append(f"top-1 agreement {agree:.2%} < {t['min_agreement']:.2%}")
    for key, label in (("max_abs_diff", "max abs diff"), ("max_rel_diff", "max rel diff")):
        if t[key] is not None and metrics[key] > t[key]:
            fails.append(f"{label} {metrics[key]:.3g} > {t[key]:.3g}")
    if t["min_cosine"] is not None and metrics["cosine"] < t["min_cosine"]:
        fails.append(f"cosine {metrics['cosine']:.6f} < {t['min_cosine']:.6f}")
    drop = metrics.get("accuracy_drop_points")
    if t["max_accuracy_drop"] is not None and drop is not None and drop > t["max_accuracy_drop"]:
        fails.append(f"accuracy drop {drop:.2f} points > {t['max_accuracy_drop']:.2f}")
    if fails:
        return False, "; ".join(fails)
    return True, "ok"
