"""An ONNX graph that takes raw pixels: a preprocessing prefix composed in front of a built graph.

The prefix does what seedge.preprocess.normalize does, op for op and in its order, so the
numbers match the float path to float32 rounding (the normalization is not folded into the
first convolution: that is exact only without padding, and a Q/DQ graph's first conv is
quantized):

    uint8 [N, H, W, C] -> Cast(float) -> Transpose(NCHW) -> Mul(scale)
        -> (Gather: reverse channels, when the device order is not the network's)
        -> Sub(mean) -> Div(std) -> the built graph's input

It is composed with onnx.compose.merge_models in front of any built graph (FP32, FP16 with
its float16 input, INT8 Q/DQ), which keeps everything else as it was. An optional Softmax
after the logits makes the output probabilities.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PREFIX = "pre_"  # prefix of the preprocessing nodes' and tensors' names


def embed_preprocess(src: str | Path, dst: str | Path, spec, color_order: str, softmax: bool = False) -> dict:
    """Write `dst`: the ONNX graph `src` with a uint8 NHWC `color_order` input and the
    preprocessing inside (and a softmax after it when asked). Returns build facts."""
    import onnx
    from onnx import compose

    from seedge.preprocess.pixels import INPUT_NAME, embedded_input

    model = onnx.load(str(src))
    facts = embedded_input(spec, color_order)
    graph_input = model.graph.input[0]
    prefix = _prefix_model(model, graph_input, spec, facts["color_order"], INPUT_NAME)
    merged = compose.merge_models(
        prefix,
        model,
        io_map=[(f"{PREFIX}out", graph_input.name)],
        producer_name=model.producer_name,
        producer_version=model.producer_version,
        doc_string=model.doc_string,
    )
    del merged.metadata_props[:]
    merged.metadata_props.extend(model.metadata_props)  # seedge's model info, as the built graph had it
    if softmax:
        _append_softmax(merged)
    onnx.checker.check_model(merged)
    onnx.save(merged, str(dst))
    return {"embedded_from": Path(src).name, "input": facts, "softmax": bool(softmax)}


def _prefix_model(model, graph_input, spec, color_order: str, input_name: str):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from seedge.preprocess.pixels import network_order
    from seedge.preprocess.spec import spec_dict

    d = spec_dict(spec)
    c, h, w = (int(v) for v in d["input_size"])
    dims = graph_input.type.tensor_type.shape.dim
    batch = dims[0].dim_param or dims[0].dim_value or "batch"
    want = graph_input.type.tensor_type.elem_type  # float, or float16 for an FP16 graph
    per_channel = (1, c, 1, 1)
    consts = {
        "scale": np.asarray(d.get("scale", 1.0 / 255.0), np.float32),
        "mean": np.asarray(d["mean"][:c], np.float32).reshape(per_channel),
        "std": np.asarray(d["std"][:c], np.float32).reshape(per_channel),
    }
    nodes = [
        helper.make_node("Cast", [input_name], [f"{PREFIX}float"], to=TensorProto.FLOAT, name=f"{PREFIX}cast"),
        helper.make_node(
            "Transpose", [f"{PREFIX}float"], [f"{PREFIX}nchw"], perm=[0, 3, 1, 2], name=f"{PREFIX}to_nchw"
        ),
        helper.make_node("Mul", [f"{PREFIX}nchw", f"{PREFIX}scale"], [f"{PREFIX}scaled"], name=f"{PREFIX}scale"),
    ]
    last = f"{PREFIX}scaled"
    if c == 3 and color_order != network_order(d):
        consts["reverse"] = np.asarray([2, 1, 0], np.int64)
        nodes.append(
            helper.make_node(
                "Gather", [last, f"{PREFIX}reverse"], [f"{PREFIX}reordered"], axis=1, name=f"{PREFIX}reorder"
            )
        )
        last = f"{PREFIX}reordered"
    nodes += [
        helper.make_node("Sub", [last, f"{PREFIX}mean"], [f"{PREFIX}centered"], name=f"{PREFIX}mean"),
        helper.make_node(
            "Div",
            [f"{PREFIX}centered", f"{PREFIX}std"],
            [f"{PREFIX}normalized" if want != TensorProto.FLOAT else f"{PREFIX}out"],
            name=f"{PREFIX}std",
        ),
    ]
    if want != TensorProto.FLOAT:  # e.g. an FP16 graph: its input type, after normalizing in float32
        nodes.append(
            helper.make_node("Cast", [f"{PREFIX}normalized"], [f"{PREFIX}out"], to=want, name=f"{PREFIX}cast_out")
        )
    graph = helper.make_graph(
        nodes,
        "seedge_preprocess",
        [helper.make_tensor_value_info(input_name, TensorProto.UINT8, [batch, h, w, c])],
        [helper.make_tensor_value_info(f"{PREFIX}out", want, [batch, c, h, w])],
        initializer=[numpy_helper.from_array(v, f"{PREFIX}{k}") for k, v in consts.items()],
    )
    default = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    prefix = helper.make_model(graph, opset_imports=[helper.make_opsetid("", default)])
    prefix.ir_version = model.ir_version
    onnx.checker.check_model(prefix)
    return prefix


def _append_softmax(model) -> None:
    """Softmax over the classes after the first output, which becomes `probabilities`."""
    from onnx import helper

    out = model.graph.output[0]
    logits = out.name
    model.graph.node.append(helper.make_node("Softmax", [logits], ["probabilities"], axis=1, name="post_softmax"))
    out.name = "probabilities"
