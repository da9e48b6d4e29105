"""ONNX export through the exporter torch recommends today (`torch.onnx.export(dynamo=True)`).

Dynamic batch, fixed C/H/W; `onnx.checker` and shape inference must pass. The torch
exporter's own optimizer already folds constants; seedge's passes run on the PyTorch
model before this, so the graph reflects them.

The example is batch 2: from a batch-1 example torch specializes the batch to the constant 1
(its 0/1 rule), which fails a dynamic export (ECA's Conv1d over the pooled vector) or bakes batch
1 in. A dynamic batch is then proven, not assumed (seedge.onnx.batch): the graph's input batch
must be symbolic and the saved file must give the model's logits at batch 1 and 3.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from seedge.errors import SeedgeError

INPUT_NAME = "input"
OUTPUT_NAME = "logits"
DEFAULT_OPSET = 18


def export_onnx(
    model,
    path: str | Path,
    input_shape: tuple[int, int, int],
    opset: int = DEFAULT_OPSET,
    dynamic_batch: bool = True,
    metadata: dict | None = None,
) -> Path:
    """Export `model` (eval mode) to `path`; returns the path. Raises SeedgeError on failure."""
    import onnx
    import torch

    from seedge.onnx.batch import check_any_batch, export_failure

    path = Path(path)
    arch = getattr(model, "seedge_arch", "model")
    example = torch.randn(2, *input_shape, generator=torch.Generator().manual_seed(0))
    dynamic_shapes = {"x": {0: torch.export.Dim("batch", min=1, max=4096)}} if dynamic_batch else None
    # The exporter is chatty (progress lines on stdout, warnings, the traced graph on stderr when it
    # fails); keep the CLI's output clean: a failure is reported in one line.
    with warnings.catch_warnings(), redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        logging.getLogger("torch.onnx").setLevel(logging.ERROR)
        _quiet_loggers()
        try:
            program = torch.onnx.export(
                model,
                (example,),
                dynamo=True,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes=dynamic_shapes,
                opset_version=opset,
                verbose=False,
            )
        except Exception as e:  # noqa: BLE001 - torch raises many types; report one line
            raise SeedgeError(
                f"ONNX export of {arch} failed in torch.export: {export_failure(e, model, example)}"
            ) from None
    assert program is not None  # dynamo=True always returns the ONNXProgram (None is the legacy exporter's)
    program.save(str(path))
    proto = onnx.load(str(path))
    if metadata:
        set_metadata(proto, metadata)
    onnx.checker.check_model(proto, full_check=True)
    onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True)
    onnx.save(proto, str(path))
    if dynamic_batch:
        _check_symbolic_batch(proto, arch)
        check_any_batch(model, path, input_shape, arch)
    return path


def _quiet_loggers() -> None:
    """torch.export logs the tracebacks of what it tried (as ERROR, on stderr) before raising; the
    failure is reported in one SeedgeError line, so those loggers stay at CRITICAL."""
    for name in ("torch._guards", "torch._dynamo", "torch.export", "torch._export", "torch.fx.experimental"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _check_symbolic_batch(proto, arch: str) -> None:
    """The graph's input batch must be a named dimension: a number there is a fixed batch."""
    dim = proto.graph.input[0].type.tensor_type.shape.dim[0]
    if not dim.dim_param:
        raise SeedgeError(
            f"{arch}: torch exported a graph for batch {dim.dim_value} only, not any batch; "
            f"the model's forward fixes the batch size"
        )


def set_metadata(proto, metadata: dict) -> None:
    """Store string metadata in `metadata_props` (replacing keys already there)."""
    keep = [p for p in proto.metadata_props if p.key not in metadata]
    del proto.metadata_props[:]
    proto.metadata_props.extend(keep)
    for k, v in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = str(k), str(v)


def node_counts(path_or_proto) -> dict[str, int]:
    """Op-type histogram of an ONNX graph (top level), plus a 'total'."""
    import onnx

    proto = onnx.load(str(path_or_proto)) if isinstance(path_or_proto, (str, Path)) else path_or_proto
    counts = Counter(n.op_type for n in proto.graph.node)
    return {"total": sum(counts.values()), **dict(sorted(counts.items()))}
