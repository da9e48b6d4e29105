"""FP16 and INT8 ONNX, SE-aware policies, module-name exclusion, calibration cache and checks,
OpenVINO INT8: real ONNX Runtime, OpenVINO and NNCF on the tiny SE-ResNet at 32x32.

The model (built once per process, `tiny`) has random convolution weights with BatchNorm
statistics taken from digits images and a least-squares classifier head on its features,
so its logits carry real class evidence (about 80% test accuracy) without minutes of
training. Its class margins are much smaller than a trained model's (many test images sit
near a class boundary), so INT8 flips more of them: the bar here is 85% top-1 agreement,
cosine >= 0.98 and at most 5 points of accuracy lost; a broken quantizer lands far below.
The trained demo model's numbers (>= 99% agreement) are in benchmarks/experiments/quantize_table.py.
"""

from __future__ import annotations


import numpy as np
import pytest

from _quantize_fixtures import ARCH, N_CALIB, N_EVAL, tiny  # noqa: E402,F401


@pytest.fixture(autouse=True)
def calib_cache(monkeypatch, tmp_path_factory):
    """Calibration ranges go to a per-session cache, not the user's home."""
    root = tmp_path_factory.getbasetemp() / "seedge-cache"
    monkeypatch.setenv("SEEDGE_CACHE", str(root))
    return root / "calib"


def _ort(path, x):
    from seedge.quantize import measure

    return measure.ort_logits(path, x)


def _ops(path) -> list[str]:
    import onnx

    return [n.op_type for n in onnx.load(str(path)).graph.node]


def _consumers(proto, tensor):
    return [n for n in proto.graph.node if tensor in n.input]


def test_fp16_graph_keeps_fp32_io_and_agrees(tmp_path):
    import onnx

    from seedge.verify.parity import compare
    from seedge.quantize.fp16 import convert_onnx_fp16

    t = tiny()
    facts = convert_onnx_fp16(t.onnx, tmp_path / "model.fp16.onnx")
    proto = onnx.load(str(tmp_path / "model.fp16.onnx"))
    float_inits = [i for i in proto.graph.initializer if i.data_type in (onnx.TensorProto.FLOAT,
                                                                         onnx.TensorProto.FLOAT16)]
    assert float_inits and all(i.data_type == onnx.TensorProto.FLOAT16 for i in float_inits)
    assert facts["fp16_initializers"] == len(float_inits) and facts["keep_io_types"] is True
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert proto.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    ref, out = _ort(t.onnx, t.x), _ort(tmp_path / "model.fp16.onnx", t.x)
    assert out.dtype == np.float32
    m = compare(ref, out)
    assert m["top1_agreement"] >= 0.99 and m["max_rel_diff"] < 1e-2


def test_int8_qdq_runs_in_onnxruntime_and_openvino_and_agrees(tmp_path):
    from seedge.verify.parity import compare
    from seedge.quantize import measure
    from seedge.quantize.int8 import quantize_onnx_int8
    from seedge.quantize.policy import DEFAULT_SE_POLICY

    t = tiny()
    dst = tmp_path / "model.int8.onnx"
    facts = quantize_onnx_int8(t.onnx, dst, t.calib)
    ops = _ops(dst)
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    assert facts["method"] == "minmax" and facts["samples"] == N_CALIB
    assert facts["policy"] == "se-aware" and facts["policy_resolved"] == DEFAULT_SE_POLICY
    assert facts["se_gates"] == ["layer1.0.se", "layer2.0.se", "layer3.0.se", "layer4.0.se"]
    assert isinstance(facts["excluded_nodes"], list)
    ref = _ort(t.onnx, t.x)
    for out in (_ort(dst, t.x), measure.ov_logits(dst, t.x, 2, "f32")):
        m = compare(ref, out, t.y)
        assert m["finite"] and m["top1_agreement"] >= 0.85 and m["cosine"] >= 0.98, m
        assert m["accuracy_drop_points"] <= 5.0, m


def test_se_range_policy_pins_the_gate_to_0_1(tmp_path):
    import onnx
    from onnx import numpy_helper

    from seedge.quantize.int8 import quantize_onnx_int8

    t = tiny()
    dst = tmp_path / "range.onnx"
    facts = quantize_onnx_int8(t.onnx, dst, t.calib, policy="se-range")
    assert len(facts["gate_range_overrides"]) == 4
    proto = onnx.load(str(dst))
    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    sigmoids = [n for n in proto.graph.node if n.op_type == "Sigmoid"]
    assert len(sigmoids) == 4
    for s in sigmoids:
        (q,) = [n for n in _consumers(proto, s.output[0]) if n.op_type == "QuantizeLinear"]
        scale, zero = inits[q.input[1]], inits[q.input[2]]
        assert abs(float(scale) - 1 / 255) < 1e-7 and int(zero) == 0  # uint8 over exactly [0, 1]


def test_se_float_policy_keeps_the_gate_path_float_and_all_does_not(tmp_path):
    import onnx

    from seedge.quantize.int8 import quantize_onnx_int8

    t = tiny()
    quantize_onnx_int8(t.onnx, tmp_path / "float.onnx", t.calib, policy="se-float")
    quantize_onnx_int8(t.onnx, tmp_path / "all.onnx", t.calib, policy="all")

    def gate_view(path):
        proto = onnx.load(str(path))
        producer = {o: n for n in proto.graph.node for o in n.output}
        sig = [n for n in proto.graph.node if n.op_type == "Sigmoid"]
        se_convs = [n for n in proto.graph.node if n.op_type == "Conv" and ".se.fc" in n.input[1]]
        gate_mul = [c for s in sig for c in _consumers(proto, s.output[0]) if c.op_type == "Mul"]
        return proto, producer, sig, se_convs, gate_mul

    proto, producer, sig, se_convs, muls = gate_view(tmp_path / "float.onnx")
    assert len(se_convs) == 8 and len(muls) == 4
    for n in se_convs + sig:  # float weights and float inputs all along the gate path
        assert all(producer.get(i) is None or producer[i].op_type != "DequantizeLinear" for i in n.input)
    for s in sig:  # the gate reaches the Mul unquantized
        assert all(c.op_type != "QuantizeLinear" for c in _consumers(proto, s.output[0]))

    proto, producer, sig, se_convs, _ = gate_view(tmp_path / "all.onnx")
    assert all(producer[n.input[1]].op_type == "DequantizeLinear" for n in se_convs)


def test_exclude_by_pytorch_module_name(tmp_path):
    import onnx

    from seedge.errors import SeedgeError
    from seedge.quantize.int8 import quantize_onnx_int8
    from seedge.quantize.policy import module_nodes

    t = tiny()
    facts = quantize_onnx_int8(t.onnx, tmp_path / "ex.onnx", t.calib, exclude=("layer3.0", "fc"))
    assert facts["excluded_modules"] == ["layer3.0", "fc"]
    assert facts["input_conv_float"] == "conv1"  # the stem stays float under the default policy
    kept = {n for nodes in module_nodes(onnx.load(str(t.onnx)), ["conv1", "layer3.0", "fc"]).values() for n in nodes}
    proto = onnx.load(str(tmp_path / "ex.onnx"))
    producer = {o: n for n in proto.graph.node for o in n.output}
    weighted = [n for n in proto.graph.node if n.op_type in ("Conv", "Gemm")]
    # 21 = stem + 11 block convs (3 downsamples) + 8 SE convs + fc; kept: the stem, layer3.0 (3 + 2 SE convs), fc
    assert len(weighted) == 21 and sum(n.name in kept for n in weighted) == 7
    for n in weighted:
        int8_weights = n.input[1] in producer and producer[n.input[1]].op_type == "DequantizeLinear"
        assert int8_weights == (n.name not in kept), n.name
    with pytest.raises(SeedgeError, match="module 'layer9.0' is not in the exported graph; known blocks: .*layer3.0"):
        quantize_onnx_int8(t.onnx, tmp_path / "bad.onnx", t.calib, exclude=("layer9.0",))


def test_module_names_survive_a_simplifier_that_drops_node_metadata():
    import onnx

    from seedge.quantize.policy import analyze, block_units

    t = tiny()
    proto = onnx.load(str(t.onnx))
    with_meta = analyze(proto)
    for n in proto.graph.node:  # what onnxslim does to node metadata
        del n.metadata_props[:]
    without = analyze(proto)
    assert with_meta.scope_source == "metadata" and without.scope_source == "parameter names"
    assert [g.module for g in without.gates] == [g.module for g in with_meta.gates] == [
        f"layer{i}.0.se" for i in range(1, 5)]
    units = block_units(proto, without)
    assert {"conv1", "layer1.0", "layer1.0.se", "layer4.0", "fc"} <= set(units)
    assert set(units) - {"(top)"} <= t.module_names


def test_calibration_cache_hit_on_second_call(tmp_path, calib_cache):
    from seedge.quantize.int8 import quantize_onnx_int8

    t = tiny()
    calib = t.calib + 0.001  # data no other test calibrated with: a guaranteed first miss
    first = quantize_onnx_int8(t.onnx, tmp_path / "a.onnx", calib, policy="all")
    second = quantize_onnx_int8(t.onnx, tmp_path / "b.onnx", calib, policy="se-float")
    assert first["calibration_cache"] == "miss" and second["calibration_cache"] == "hit"
    assert first["calibration_sha256"] == second["calibration_sha256"]
    assert [p for p in calib_cache.glob("*.json") if first["calibration_sha256"][:20] in p.name]
    other = quantize_onnx_int8(t.onnx, tmp_path / "c.onnx", calib[:16], policy="all")
    assert other["calibration_cache"] == "miss"  # other images, other key


@pytest.mark.parametrize("make, message", [
    (lambda x: x[:5], "only 5 calibration images but at least 8 are needed"),
    (lambda x: x[:, :, :28, :28], "images are 28x28 but the model expects 32x32"),
    (lambda x: x[:, :1], "images have 1 channels but the model expects 3"),
    (lambda x: np.ascontiguousarray(x.transpose(0, 2, 3, 1)), "is the layout NHWC"),
    (lambda x: (x * 50).astype(np.uint8), "not float; apply the model's preprocessing"),
    (lambda x: np.where(x > 1, np.nan, x).astype(np.float32), "NaN or Inf"),
    (lambda x: x[0], "expected preprocessed images shaped"),
])
def test_bad_calibration_data_is_one_clear_error(tmp_path, make, message):
    from seedge.errors import SeedgeError
    from seedge.quantize.int8 import quantize_onnx_int8

    t = tiny()
    with pytest.raises(SeedgeError, match=message) as e:
        quantize_onnx_int8(t.onnx, tmp_path / "x.onnx", make(t.calib), source="my-images")
    assert "\n" not in str(e.value) and str(e.value).startswith("my-images: ")
    assert not (tmp_path / "x.onnx").exists()


def test_requested_calibration_samples_must_exist(tmp_path):
    from seedge.errors import SeedgeError
    from seedge.quantize.int8 import quantize_onnx_int8

    t = tiny()
    with pytest.raises(SeedgeError, match="only 32 calibration images but 64 were requested"):
        quantize_onnx_int8(t.onnx, tmp_path / "x.onnx", t.calib, samples=64)
    facts = quantize_onnx_int8(t.onnx, tmp_path / "y.onnx", t.calib, samples=16)
    assert facts["samples"] == 16


@pytest.mark.slow  # NNCF quantization plus timed candidates (2 routes x 2 precisions): ~25 s here
def test_openvino_int8_measures_both_routes_and_keeps_the_better(tmp_path):
    from seedge.backends.openvino import OpenVINORunner
    from seedge.export.openvino_export import read_rt_info
    from seedge.verify.parity import compare
    from seedge.quantize.int8 import quantize_onnx_int8
    from seedge.quantize.openvino_int8 import build_openvino_int8

    t = tiny()
    qdq = tmp_path / "model.int8.onnx"
    quantize_onnx_int8(t.onnx, qdq, t.calib)
    xml = tmp_path / "openvino" / "model.int8.xml"
    facts = build_openvino_int8(t.onnx, qdq, xml, t.calib, eval_data=(t.x[:64], t.y[:64]),
                                rt_info={"seedge.arch": ARCH})
    assert xml.is_file() and xml.with_suffix(".bin").is_file()
    assert {(c["route"], c["inference_precision"]) for c in facts["candidates"]} == {
        ("qdq", "f32"), ("qdq", "bf16"), ("nncf", "f32"), ("nncf", "bf16")}
    assert facts["route"] in ("qdq", "nncf") and facts["inference_precision"] in ("f32", "bf16")
    assert facts["why"].startswith(f"kept {facts['route']}/{facts['inference_precision']}")
    assert facts["fake_quantize_nodes"] > 0
    assert facts["nncf"]["ignored_ops"]  # SE-aware: the gate path is in NNCF's ignored scope
    assert read_rt_info(xml)["int8_route"] == facts["route"]
    with OpenVINORunner(xml, threads=2, inference_precision=facts["inference_precision"]) as r:
        out = r.infer({"input": t.x})[0]
    m = compare(_ort(t.onnx, t.x), out, t.y)
    assert m["top1_agreement"] >= 0.85 and m["cosine"] >= 0.98, m


def test_tensorrt_target_is_symmetric_int8(tmp_path):
    import onnx
    from onnx import numpy_helper

    from seedge.verify.parity import compare
    from seedge.quantize.int8 import quantize_onnx_int8

    t = tiny()
    dst = tmp_path / "trt.onnx"
    facts = quantize_onnx_int8(t.onnx, dst, t.calib, target="tensorrt")
    assert facts["activation_type"] == "int8" and facts["activation_symmetric"] is True
    proto = onnx.load(str(dst))
    inits = {i.name: i for i in proto.graph.initializer}
    qdq = [n for n in proto.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    zero_points = [inits[n.input[2]] for n in qdq if len(n.input) > 2 and n.input[2] in inits]
    assert zero_points and all(z.data_type == onnx.TensorProto.INT8 for z in zero_points)  # no int32 biases
    assert all(not numpy_helper.to_array(z).any() for z in zero_points)  # TensorRT: zero points are 0
    # The graph's numbers as ONNX defines them (exact int8 products, as TensorRT computes them),
    # from ONNX's reference evaluator: CPU runtimes on an x86 CPU without VNNI saturate 8-bit
    # weights in their U8S8/S8S8 kernels (seedge.quantize.int8), which is not what this tests.
    from onnx import version_converter
    from onnx.reference import ReferenceEvaluator

    x = t.x[:64]
    exact = ReferenceEvaluator(version_converter.convert_version(proto, 21)).run(None, {"input": x})[0]
    m = compare(_ort(t.onnx, x), exact)
    assert m["top1_agreement"] >= 0.85 and m["cosine"] >= 0.98, m


def test_openvino_int8_choice_judges_noise_by_verify_sqnr():
    """Among equally agreeing candidates the fastest within MAX_SQNR_GAP_DB (3.5 dB: 1.5x RMS logit
    error) of the least noisy wins; a noisier or non-finite one never does, however fast."""
    from seedge.quantize.openvino_int8 import MAX_SQNR_GAP_DB, _choose

    def cand(route, prec, sqnr, p50):
        return {"route": route, "inference_precision": prec, "top1_agreement": 1.0, "sqnr_db": sqnr,
                "mean_abs_diff": float("nan") if sqnr is None else 10 ** (-sqnr / 20), "p50_ms_batch1": p50}

    assert MAX_SQNR_GAP_DB == pytest.approx(3.52, abs=0.01)
    cands = [cand("qdq", "f32", 30.0, 1.0), cand("nncf", "f32", 27.0, 0.5), cand("nncf", "bf16", 20.0, 0.3),
             cand("qdq", "bf16", None, 0.1)]
    assert (_choose(cands)["route"], _choose(cands)["inference_precision"]) == ("nncf", "f32")
    cands[1]["sqnr_db"] = 26.0  # 4 dB below the best: no longer as good
    assert _choose(cands)["route"] == "qdq" and _choose(cands)["inference_precision"] == "f32"
