"""Pass registry and driver: `register_pass`, `list_passes`, `apply_passes`.

A pass is `fn(model, example) -> int`: it rewrites `model` (an eval-mode copy owned by
`apply_passes`) in place and returns how many rewrites it made. A pass with more to say
returns a `PassResult` (an int too): `details` for its report, and `model` when it had to
replace the model object itself (a rewrite of the model's own forward). `apply_passes` runs the
model before and after every pass on the same input and refuses a pass that moves the
logits by more than 1e-5 of their scale (see `check.py`), so no pass can silently change
what the model answers.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable

from seedge.errors import SeedgeError

PassFn = Callable[..., int]


class PassResult(int):
    """A pass's rewrite count that also carries `details` (JSON-able, into the report and the
    manifest) and, when the pass replaced the model object itself, the new `model`."""

    details: dict | None
    model: object

    def __new__(cls, changed: int, details: dict | None = None, model=None):
        obj = super().__new__(cls, changed)
        obj.details, obj.model = details, model
        return obj


def run_pass(fn: PassFn, model, example):
    """(model after the pass, its result): the same model object unless the pass replaced it."""
    result = fn(model, example)
    new = getattr(result, "model", None)
    return (model if new is None else new).eval(), result


DEFAULT_PASSES = ["drop_dropout", "fold_bn", "canonical_se", "fuse_se_residual"]

_PASSES: dict[str, PassFn] = {}


def register_pass(name: str):
    """Decorator: register `fn(model, example) -> int` under `name`. Duplicates raise."""

    def wrap(fn: PassFn) -> PassFn:
        if name in _PASSES:
            raise ValueError(f"pass '{name}' is already registered")
        _PASSES[name] = fn
        return fn

    return wrap


def unregister_pass(name: str) -> None:
    """Remove a pass (tests register throw-away passes and clean up after themselves)."""
    _PASSES.pop(name, None)


def list_passes() -> list[str]:
    """Registered pass names, in registration order."""
    return list(_PASSES)


def _default_example(model):
    import torch

    cfg = getattr(model, "seedge_cfg", None)
    if cfg is None:
        raise SeedgeError(
            "apply_passes: the model has no seedge_cfg to take an input size from; pass example=<an input tensor>"
        )
    gen = torch.Generator().manual_seed(0)
    param = next(model.parameters(), None)
    x = torch.randn(2, *cfg.input_size, generator=gen)
    return x if param is None else x.to(device=param.device, dtype=param.dtype)


def apply_passes(model, names: list[str] | None = None, example=None, count_nodes: bool = False):
    """Run passes `names` (default `DEFAULT_PASSES`) on a deep copy of `model` in eval mode.

    Returns `(new_model, reports)`; one report per pass:
    `{name, changed, max_abs_diff, rel_diff, fp64, onnx_nodes_before, onnx_nodes_after}` (plus
    `details` when the pass reports them, e.g. canonical_se's rewritten / left-alone blocks) where the
    ONNX counts are `node_counts` dicts (`{"total": n, op: count}`) when `count_nodes`, else None,
    and `fp64` is None unless the FP32 bound was missed and the float64 re-check accepted the
    pass (check.py explains; then it holds the float64 numbers).
    Raises SeedgeError for an unknown pass name and CheckFailed when a pass breaks numerics.
    The returned model carries `seedge_passes` (the names applied).
    """
    from seedge.passes.check import strict_fp32

    names = list(DEFAULT_PASSES if names is None else names)
    unknown = [n for n in names if n not in _PASSES]
    if unknown:
        raise SeedgeError(
            f"unknown pass {', '.join(repr(n) for n in unknown)}: known passes are {', '.join(list_passes())}"
        )
    work = copy.deepcopy(model).eval()
    example = _default_example(work) if example is None else example
    with strict_fp32():
        work, reports = _run_checked(model, work, names, example, count_nodes)
    work.seedge_passes = list(getattr(model, "seedge_passes", [])) + names
    return work, reports


def _run_checked(original, work, names: list[str], example, count_nodes: bool):
    """Apply each pass to `work`, comparing its outputs before and after every pass; (work, reports)."""
    import torch

    from seedge.passes.check import check_pass, float64_recheck, onnx_node_counts

    counts = onnx_node_counts(work, example) if count_nodes else None
    with torch.no_grad():
        before = work(example)
    reports = []
    for i, name in enumerate(names):
        fn = _PASSES[name]
        work, result = run_pass(fn, work, example)
        changed = int(result)
        with torch.no_grad():
            after = work(example)
        # Only if FP32 rounding exceeds the bound: replay the passes so far in float64 (check.py).
        recheck = functools.partial(
            float64_recheck, original, [_PASSES[n] for n in names[:i]], fn, example, before, after
        )
        diff = check_pass(name, before, after, recheck)  # raises CheckFailed naming the pass
        counts_after = (onnx_node_counts(work, example) if changed else counts) if count_nodes else None
        report = {
            "name": name,
            "changed": changed,
            **diff,
            "onnx_nodes_before": counts,
            "onnx_nodes_after": counts_after,
        }
        if getattr(result, "details", None) is not None:
            report["details"] = result.details
        reports.append(report)
        before, counts = after, counts_after
    return work, reports
