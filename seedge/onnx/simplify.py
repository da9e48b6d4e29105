"""Optional ONNX graph simplification with onnxslim (on by default).

onnxslim folds constants and removes redundant nodes the exporter left behind. The
result must still pass `onnx.checker` (full check) and strict shape inference; if
onnxslim fails or its output does not check, the original graph is kept and the reason
goes into the build facts instead of stopping the export.
"""

from __future__ import annotations

import io
import warnings
from contextlib import redirect_stdout
from pathlib import Path

from seedge.fileio import atomic_target


def simplify_onnx(path: str | Path) -> dict:
    """Simplify the ONNX file at `path` in place. Returns build facts; never raises."""
    import onnx

    from seedge.onnx.convert import node_counts

    path = Path(path)
    facts: dict = {"simplifier": "onnxslim", "version": _version("onnxslim")}
    original = onnx.load(str(path))
    before = node_counts(original)["total"]
    try:
        import onnxslim

        with warnings.catch_warnings(), redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            slim = onnxslim.slim(original)
        _check(slim, original)
    except Exception as e:  # noqa: BLE001 - simplification is optional: keep the original, say why
        lines = str(e).strip().splitlines()
        facts.update(
            applied=False,
            warning=f"onnxslim failed, graph kept as exported: {(lines[0] if lines else type(e).__name__)[:300]}",
        )
        return facts
    with atomic_target(path) as tmp:
        onnx.save(slim, str(tmp))
    facts.update(applied=True, nodes_before=before, nodes_after=node_counts(slim)["total"])
    return facts


def _check(slim, original) -> None:
    """The simplified graph must be valid and keep the interface (names, dynamic batch, metadata)."""
    import onnx

    onnx.checker.check_model(slim, full_check=True)
    onnx.shape_inference.infer_shapes(slim, check_type=True, strict_mode=True)
    if _io_signature(slim) != _io_signature(original):
        raise ValueError("inputs/outputs changed")
    # Keep seedge's metadata even if the simplifier rebuilt the model proto without it.
    if {p.key for p in original.metadata_props} - {p.key for p in slim.metadata_props}:
        from seedge.onnx.convert import set_metadata

        set_metadata(slim, {p.key: p.value for p in original.metadata_props})


def _io_signature(proto) -> list:
    def dims(v):
        return [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]

    return [(v.name, v.type.tensor_type.elem_type, dims(v)) for v in (*proto.graph.input, *proto.graph.output)]


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None
