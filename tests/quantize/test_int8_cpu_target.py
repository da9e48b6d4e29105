"""The INT8 CPU target (seedge.backends.cpu_features): portable = 7-bit weights, vnni = 8-bit.

What is checked on real files: the Q/DQ graph's weights really have the bits the build facts
say (ONNX Runtime's reduce_range keeps symmetric int8 weights within +-64; full 8-bit reaches
127), NNCF's overflow fix follows the target, auto picks vnni on a VNNI CPU (this session's
machine; skipped with the reason elsewhere) and portable where SEEDGE_CPU_NO_VNNI=1 says the CPU
has none, and vnni asked for on such a CPU is one line and exit 2 before any work.
"""

from __future__ import annotations

import numpy as np
import pytest
from _quantize_fixtures import tiny

from seedge import hostcpu
from seedge.backends import cpu_features
from seedge.errors import SeedgeError


@pytest.fixture(autouse=True)
def calib_cache(monkeypatch, tmp_path_factory):
    """Calibration ranges go to a per-session cache, not the user's home."""
    monkeypatch.setenv("SEEDGE_CACHE", str(tmp_path_factory.getbasetemp() / "seedge-cache"))


@pytest.fixture
def no_vnni(monkeypatch):
    monkeypatch.setenv(hostcpu.NO_VNNI_ENV, "1")


def _needs_vnni():
    if not hostcpu.has_vnni():
        pytest.skip("this CPU has no AVX512-VNNI / AVX-VNNI / AMX-INT8: 8-bit INT8 weights cannot be verified here")


def _max_abs_weight_q(path) -> int:
    """Largest |q| over the int8 weight initializers that feed a DequantizeLinear."""
    import onnx
    from onnx import numpy_helper

    proto = onnx.load(str(path))
    inits = {i.name: i for i in proto.graph.initializer}
    weights = [numpy_helper.to_array(inits[n.input[0]]) for n in proto.graph.node
               if n.op_type == "DequantizeLinear" and n.input[0] in inits
               and inits[n.input[0]].data_type == onnx.TensorProto.INT8 and len(inits[n.input[0]].dims) == 4]
    assert weights, "no quantized conv weights in the graph"
    return int(max(np.abs(w.astype(np.int32)).max() for w in weights))


def test_the_switch_turns_vnni_off(no_vnni):
    assert hostcpu.has_vnni() is False
    assert cpu_features.resolve_int8_cpu("auto") == "portable"


def test_auto_is_vnni_on_a_vnni_cpu():
    _needs_vnni()
    assert cpu_features.resolve_int8_cpu("auto") == "vnni"
    assert cpu_features.resolve_int8_cpu(None) == "vnni"


def test_vnni_without_vnni_and_unknown_targets_are_one_line(no_vnni):
    with pytest.raises(SeedgeError, match=r"^--int8-cpu vnni: this CPU has no VNNI/AMX") as e:
        cpu_features.resolve_int8_cpu("vnni")
    assert "\n" not in str(e.value) and "--int8-cpu portable" in str(e.value)
    with pytest.raises(SeedgeError, match="unknown --int8-cpu 'avx2'"):
        cpu_features.resolve_int8_cpu("avx2")
    assert cpu_features.resolve_int8_cpu("portable") == "portable"


@pytest.mark.parametrize("target, bits", [("portable", 7), ("vnni", 8)])
def test_onnx_weights_have_the_bits_the_facts_say(tmp_path, target, bits):
    from seedge.quantize.int8 import quantize_onnx_int8

    if target == "vnni":
        _needs_vnni()
    t = tiny()
    dst = tmp_path / f"{target}.onnx"
    facts = quantize_onnx_int8(t.onnx, dst, t.calib, int8_cpu=target)
    assert (facts["int8_cpu"], facts["weight_bits"]) == (target, bits)
    q = _max_abs_weight_q(dst)
    # Symmetric per-channel: each channel's largest weight maps to the top of the range.
    assert q <= 64 if bits == 7 else q == 127, q


def test_tensorrt_target_ignores_the_cpu_target(tmp_path, no_vnni):
    from seedge.quantize.int8 import quantize_onnx_int8

    t = tiny()
    facts = quantize_onnx_int8(t.onnx, tmp_path / "trt.onnx", t.calib, target="tensorrt", int8_cpu="vnni")
    assert facts["weight_bits"] == 8 and "int8_cpu" not in facts  # GPU kernels: no saturation


@pytest.mark.slow  # NNCF quantization twice: ~20 s here
@pytest.mark.parametrize("target, fix", [("portable", "enable"), ("vnni", "disable")])
def test_nncf_overflow_fix_follows_the_target(tmp_path, target, fix):
    from seedge.quantize.openvino_int8 import build_openvino_int8

    if target == "vnni":
        _needs_vnni()
    t = tiny()
    facts = build_openvino_int8(t.onnx, None, tmp_path / "model.int8.xml", t.calib, routes=("nncf",),
                                float_precisions=("f32",), eval_data=(t.x[:32], t.y[:32]), int8_cpu=target)
    assert (facts["int8_cpu"], facts["weight_bits"], facts["nncf"]["overflow_fix"]) == \
        (target, cpu_features.WEIGHT_BITS[target], fix)


@pytest.mark.slow  # one export with onnx-int8 and openvino-int8 (NNCF + timed candidates): ~1 min here
def test_export_records_the_target_on_both_int8_artifacts(tmp_path, monkeypatch):
    from seedge.artifacts import read_manifest
    from seedge.export.options import ExportOptions
    from seedge.export.pipeline import export_model

    monkeypatch.setenv(hostcpu.NO_VNNI_ENV, "1")  # auto on a CPU without VNNI: portable
    folder = export_model(None, ExportOptions(formats=("onnx", "openvino"), precisions=("int8",), calib="digits",
                                              calib_samples=32, verify_samples=64, out=tmp_path, name="portable",
                                              count_nodes=False, pt2=False, embed_preprocess="rgb"))
    arts = {a["id"]: a for a in read_manifest(folder)["artifacts"]}
    # The siblings with the preprocessing inside have the same weights, so the same target.
    for art_id in ("onnx-int8", "openvino-int8", "onnx-int8-raw", "openvino-int8-raw"):
        assert (arts[art_id]["build"]["int8_cpu"], arts[art_id]["build"]["weight_bits"]) == ("portable", 7), art_id
    assert arts["openvino-int8"]["build"]["nncf"]["overflow_fix"] == "enable"
    assert _max_abs_weight_q(folder / arts["onnx-int8"]["file"]) <= 64


@pytest.mark.slow  # one ONNX INT8 export: ~30 s here
def test_export_auto_is_vnni_here_and_the_weights_are_8_bit(tmp_path):
    import seedge
    from seedge.artifacts import read_manifest

    _needs_vnni()
    folder = seedge.export(None, formats="onnx", precisions="int8", calib="digits", calib_samples=32,
                           verify_samples=64, out=tmp_path, name="auto", count_nodes=False, pt2=False)
    (art,) = [a for a in read_manifest(folder)["artifacts"] if a["id"] == "onnx-int8"]
    assert (art["build"]["int8_cpu"], art["build"]["weight_bits"]) == ("vnni", 8)
    assert art["parity"]["passed"]
    assert _max_abs_weight_q(folder / art["file"]) == 127


def test_cli_export_vnni_on_a_cpu_without_it_is_exit_2_in_one_line(tmp_path, capsys, no_vnni):
    from seedge.cli import main

    with pytest.raises(SystemExit) as e:
        main(["export", "--formats", "onnx", "--precisions", "int8", "--calib", "digits", "--int8-cpu", "vnni",
              "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2
    assert len(err) == 1 and "--int8-cpu vnni: this CPU has no VNNI/AMX" in err[0], err
    assert not any(tmp_path.iterdir())  # nothing written


def test_cli_quantize_report_vnni_on_a_cpu_without_it_is_exit_2(tmp_path, capsys, no_vnni):
    from seedge.cli import main

    with pytest.raises(SystemExit) as e:
        main(["quantize-report", str(tmp_path), "--data", "digits", "--int8-cpu", "vnni"])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and "--int8-cpu vnni" in err[0], err
