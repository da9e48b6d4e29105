"""FP16 ONNX: weights and activations in float16, inputs and outputs still float32.

Uses the converter that ships with ONNX Runtime (`onnxruntime.transformers.float16`, the
same code as onnxconverter-common's), so FP16 needs no extra dependency. `keep_io_types`
puts a Cast at the input and output: callers keep feeding float32 images and reading
float32 logits, whatever the precision inside.

OpenVINO's FP16 IR is not made here: the OpenVINO exporter compresses weights
(`compress_to_fp16=True`).
"""

from __future__ import annotations

from pathlib import Path

from seedge.errors import SeedgeError
from seedge.fileio import atomic_target

# Ops kept in float32 beyond the converter's own block list. Empty: on the SE models here
# (global ReduceMean, sigmoid gate, residual adds) float16 agrees with float32; add an op
# type here if a model's numerics need it.
EXTRA_OP_BLOCK_LIST: tuple[str, ...] = ()


def convert_onnx_fp16(src, dst, op_block_list=None) -> dict:
    """Write an FP16 copy of the FP32 ONNX model `src` to `dst`; return build facts."""
    import onnx
    from onnxruntime.transformers import float16

    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise SeedgeError(f"{src}: ONNX model not found")
    proto = onnx.load(str(src))
    blocked = list(float16.DEFAULT_OP_BLOCK_LIST) + list(EXTRA_OP_BLOCK_LIST) + list(op_block_list or ())
    fp16 = float16.convert_float_to_float16(proto, keep_io_types=True, op_block_list=blocked)
    _topological_sort(fp16.graph)  # the converter appends its io Casts at the end of the node list
    onnx.checker.check_model(fp16)
    inits = list(fp16.graph.initializer)
    facts = {
        "converter": "onnxruntime.transformers.float16",
        "keep_io_types": True,
        "op_block_list_extra": list(EXTRA_OP_BLOCK_LIST) + list(op_block_list or ()),
        "fp16_initializers": sum(i.data_type == onnx.TensorProto.FLOAT16 for i in inits),
        "fp32_initializers": sum(i.data_type == onnx.TensorProto.FLOAT for i in inits),
        "cast_nodes": sum(n.op_type == "Cast" for n in fp16.graph.node),
        "io_dtype": "float32",
    }
    dst.parent.mkdir(parents=True, exist_ok=True)
    with atomic_target(dst) as tmp:
        onnx.save(fp16, str(tmp))
    return facts


def _topological_sort(graph) -> None:
    """Reorder graph.node so every node comes after the producers of its inputs (stable)."""
    available = {i.name for i in graph.input} | {i.name for i in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        ready = [n for n in pending if all(t in available for t in n.input)]
        if not ready:
            raise SeedgeError("FP16 conversion produced a graph with a cycle or a dangling input")
        for n in ready:
            available.update(n.output)
        ids = {id(n) for n in ready}
        ordered += ready
        pending = [n for n in pending if id(n) not in ids]
    copies = [type(n)() for n in ordered]
    for c, n in zip(copies, ordered, strict=True):
        c.CopyFrom(n)
    del graph.node[:]
    graph.node.extend(copies)
