"""ONNX rewrites after export: ReduceMean over H,W -> GlobalAveragePool, exact, metadata kept."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from seedge.onnx.rewrites import reducemean_to_global_pool


def _model(path, axes, keepdims=1, shape=(2, 3, 5, 4)):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    out_shape = [d if i not in [a % len(shape) for a in axes] else (1 if keepdims else None)
                 for i, d in enumerate(shape)]
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [d for d in out_shape if d is not None])
    axes_t = helper.make_tensor("axes", TensorProto.INT64, [len(axes)], axes)
    node = helper.make_node("ReduceMean", ["x", "axes"], ["y"], name="layer1.0.se.mean", keepdims=keepdims)
    meta = node.metadata_props.add()
    meta.key, meta.value = "pkg.torch.onnx.name_scopes", "['', 'layer1', 'layer1.0.se']"
    graph = helper.make_graph([node], "g", [x], [y], initializer=[axes_t])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 9
    onnx.save(m, str(path))
    return path


def _run(path, x):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


@pytest.mark.parametrize("axes", [[2, 3], [3, 2], [-2, -1]])
def test_spatial_mean_becomes_global_pool(tmp_path, axes):
    src = _model(tmp_path / "m.onnx", axes)
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 4)).astype(np.float32)
    before = _run(src, x)
    facts = reducemean_to_global_pool(src, tmp_path / "out.onnx")
    assert facts == {"reducemean_to_global_pool": 1}
    proto = onnx.load(str(tmp_path / "out.onnx"))
    [node] = proto.graph.node
    assert node.op_type == "GlobalAveragePool" and list(node.input) == ["x"] and not node.attribute
    assert node.name == "layer1.0.se.mean" and node.metadata_props[0].value.endswith("'layer1.0.se']")
    np.testing.assert_allclose(_run(tmp_path / "out.onnx", x), before, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("axes,keepdims,shape", [([1], 1, (2, 3, 5, 4)), ([2, 3], 0, (2, 3, 5, 4)),
                                                 ([1, 2], 1, (2, 3, 5))])
def test_other_means_are_left_alone(tmp_path, axes, keepdims, shape):
    src = _model(tmp_path / "m.onnx", axes, keepdims, shape)
    original = src.read_bytes()
    assert reducemean_to_global_pool(src) == {"reducemean_to_global_pool": 0}
    assert src.read_bytes() == original  # nothing to do: the file is not rewritten


def test_export_writes_global_pools_for_se_squeezes(tmp_path):
    """The exported SE graph has no ReduceMean left: every squeeze (and the head's pool) is a GAP."""
    import torch

    from seedge.onnx.convert import export_onnx
    from seedge.models import create_model
    from seedge.passes import apply_passes

    model, _ = apply_passes(create_model("se_resnet10_cifar_tiny").eval(), example=torch.randn(2, 3, 32, 32))
    export_onnx(model, tmp_path / "m.onnx", (3, 32, 32))
    assert reducemean_to_global_pool(tmp_path / "m.onnx")["reducemean_to_global_pool"] == 5  # 4 SE + head
    ops = [n.op_type for n in onnx.load(str(tmp_path / "m.onnx")).graph.node]
    assert "ReduceMean" not in ops and ops.count("GlobalAveragePool") == 5
    x = torch.randn(3, 3, 32, 32)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        ref = model(x).numpy()
    np.testing.assert_allclose(sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0], ref, atol=1e-4)
