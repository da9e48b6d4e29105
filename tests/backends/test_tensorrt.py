"""TensorRT: engine builder and runner.

Everywhere: argument and graph-precision checks, one-line errors when TensorRT, a GPU or
the engine file is missing (TensorRT's absence is made real by `sys.modules["tensorrt"] = None`,
which makes `import tensorrt` fail exactly as on a machine without it).
On a machine with TensorRT and a CUDA GPU (markers gpu + tensorrt): FP32 / FP16 / INT8
engines are built and compared with ONNX Runtime, and the torch-free runtime runs an engine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from seedge.backends.tensorrt import (
    CudaDevice,
    TensorRTRunner,
    availability,
    check_build_facts,
    device_index,
    facts_path,
    merged_facts,
)
from seedge.errors import MissingBackend, SeedgeError
from seedge.export.tensorrt_export import (
    build_engine,
    onnx_graph_facts,
    parse_batch_profile,
    timing_cache_file,
    timing_cache_key,
    timing_cache_sources,
)

REPO = Path(__file__).resolve().parents[2]
TRT_OK, TRT_WHY = availability()


def _tiny_onnx(path: Path, kind: str = "fp32") -> Path:
    """Conv-ReLU-GAP-Flatten with a dynamic batch, as fp32, fp16 (casts + fp16 weights) or Q/DQ int8."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    nodes, inits = [], []
    x_in, w_in = "input", "w"
    if kind == "fp16":
        inits.append(numpy_helper.from_array(w.astype(np.float16), "w"))
        nodes.append(helper.make_node("Cast", ["input"], ["x16"], to=TensorProto.FLOAT16))
        x_in = "x16"
    else:
        inits.append(numpy_helper.from_array(w, "w"))
    if kind == "int8":
        inits += [numpy_helper.from_array(np.array(0.03, np.float32), "sx"),
                  numpy_helper.from_array(np.array(0, np.int8), "zx"),
                  numpy_helper.from_array(np.array(0.02, np.float32), "sw"),
                  numpy_helper.from_array(np.array(0, np.int8), "zw")]
        nodes += [helper.make_node("QuantizeLinear", ["input", "sx", "zx"], ["xq"]),
                  helper.make_node("DequantizeLinear", ["xq", "sx", "zx"], ["xd"]),
                  helper.make_node("QuantizeLinear", ["w", "sw", "zw"], ["wq"]),
                  helper.make_node("DequantizeLinear", ["wq", "sw", "zw"], ["wd"])]
        x_in, w_in = "xd", "wd"
    nodes += [helper.make_node("Conv", [x_in, w_in], ["c"], pads=[1, 1, 1, 1]),
              helper.make_node("Relu", ["c"], ["r"]),
              helper.make_node("GlobalAveragePool", ["r"], ["g"]),
              helper.make_node("Flatten", ["g"], ["f" if kind == "fp16" else "logits"])]
    if kind == "fp16":
        nodes.append(helper.make_node("Cast", ["f"], ["logits"], to=TensorProto.FLOAT))
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 8, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))
    return path


def _one_line(e: pytest.ExceptionInfo) -> str:
    msg = str(e.value)
    assert "\n" not in msg, msg
    return msg


# ---------------------------------------------------------------------- everywhere

def test_graph_facts_tell_the_precision_a_graph_carries(tmp_path):
    for kind, precision in (("fp32", "fp32"), ("fp16", "fp16"), ("int8", "int8")):
        facts = onnx_graph_facts(_tiny_onnx(tmp_path / f"{kind}.onnx", kind))
        assert facts["precision"] == precision
        assert facts["input"] == "input" and facts["input_shape"] == [-1, 3, 8, 8]
    assert onnx_graph_facts(tmp_path / "int8.onnx")["qdq_nodes"] == 4
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08garbage")
    with pytest.raises(SeedgeError, match="not a readable ONNX model"):
        onnx_graph_facts(bad)


@pytest.mark.parametrize("kwargs, match", [
    ({"precision": "int4"}, "precision 'int4' is not one of fp32, fp16, int8"),
    ({"route": "weak"}, "route 'weak' is not one of"),
    ({"min_batch": 8, "opt_batch": 4}, "min 8, opt 4, max 32 is invalid"),
    ({"opt_batch": 64}, "min 1, opt 64, max 32 is invalid"),
    ({"min_batch": 0}, "is invalid"),
    ({"workspace_gb": 0}, "workspace 0 GB must be positive"),
])
def test_build_engine_checks_arguments_first(tmp_path, kwargs, match):
    onnx_file = _tiny_onnx(tmp_path / "m.onnx")
    args = {"precision": "fp32", **kwargs}
    with pytest.raises(SeedgeError, match=match) as e:
        build_engine(onnx_file, tmp_path / "m.plan", **args)
    _one_line(e)
    assert not (tmp_path / "m.plan").exists()


def test_build_engine_missing_onnx_file(tmp_path):
    with pytest.raises(SeedgeError, match="m.onnx: ONNX file not found") as e:
        build_engine(tmp_path / "m.onnx", tmp_path / "m.plan", "fp32")
    _one_line(e)


def test_build_engine_refuses_a_graph_of_another_precision(tmp_path):
    """Strongly typed builds take precision from the graph: a mislabelled graph would build silently."""
    fp32 = _tiny_onnx(tmp_path / "model.onnx")
    with pytest.raises(SeedgeError, match="graph is fp32, not int8; INT8 needs explicit QuantizeLinear.*model.int8.onnx"):
        build_engine(fp32, tmp_path / "m.plan", "int8")
    with pytest.raises(SeedgeError, match="graph is fp32, not fp16.*route='flags' on TensorRT 10: pass model.fp16.onnx"):
        build_engine(fp32, tmp_path / "m.plan", "fp16")
    qdq = _tiny_onnx(tmp_path / "model.int8.onnx", "int8")
    with pytest.raises(SeedgeError, match="graph is int8, not fp32"):
        build_engine(qdq, tmp_path / "m.plan", "fp32")
    with pytest.raises(SeedgeError, match="graph is int8, not fp16"):
        build_engine(qdq, tmp_path / "m.plan", "fp16", route="flags")


def test_without_tensorrt_builder_and_runner_name_the_missing_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # `import tensorrt` raises ImportError
    onnx_file = _tiny_onnx(tmp_path / "model.onnx")
    with pytest.raises(MissingBackend, match=r"backend 'tensorrt' is not available: install it with "
                                             r"`pip install 'seedge\[tensorrt\]'` \(import tensorrt failed") as e:
        build_engine(onnx_file, tmp_path / "model.fp32.plan", "fp32")
    _one_line(e)
    assert not (tmp_path / "model.fp32.plan").exists()
    plan = tmp_path / "model.plan"
    plan.write_bytes(b"engine bytes")  # never read: the import fails first
    with pytest.raises(MissingBackend, match="import tensorrt failed") as e:
        with TensorRTRunner(plan, device="cuda"):
            pass
    _one_line(e)


def test_runner_needs_a_cuda_device_and_an_engine_file(tmp_path):
    plan = tmp_path / "model.plan"
    plan.write_bytes(b"engine bytes")
    for device in ("cpu", "gpu", "cuda:x"):
        with pytest.raises(SeedgeError, match=f"TensorRT runs on a CUDA GPU, not on '{device}'") as e:
            with TensorRTRunner(plan, device=device):
                pass
        _one_line(e)
    assert device_index("cuda") == 0 and device_index("CUDA:1") == 1
    with pytest.raises(SeedgeError, match="missing.plan: engine file not found") as e:
        with TensorRTRunner(tmp_path / "missing.plan", device="cuda"):
            pass
    _one_line(e)


def test_cuda_device_without_a_gpu_is_one_clear_line():
    try:
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has a CUDA GPU")
    except ImportError:
        pass
    try:
        CudaDevice.open(0)
    except MissingBackend as e:  # neither cuda-python nor torch here: also a one-line answer
        assert "cuda-python" in str(e)
        return
    except SeedgeError as e:
        assert str(e).startswith("no usable CUDA device") and "\n" not in str(e), str(e)
        return
    pytest.fail("CudaDevice.open succeeded on a machine where torch sees no GPU")


def test_availability_explains_itself():
    ok, why = availability()
    assert ok == TRT_OK
    assert (why == "") if ok else ("tensorrt" in why.lower() or "cuda" in why.lower())
    assert availability("cpu")[0] is False


def test_batch_profile_from_the_batch_sizes_asked_for(tmp_path):
    assert parse_batch_profile("8") == (8, 8, 8)
    assert parse_batch_profile("1,8,64") == (1, 8, 64)
    assert parse_batch_profile("1,8,64,256") == (1, 64, 256)  # the bench sizes: opt is the upper middle
    assert parse_batch_profile([64, 1, 8, 8]) == (1, 8, 64)  # order and repeats do not matter
    for bad in ("0", "a,8", "", "1,-8"):
        with pytest.raises(SeedgeError, match="give positive batch sizes, e.g. 1,8,64") as e:
            parse_batch_profile(bad)
        _one_line(e)
    onnx_file = _tiny_onnx(tmp_path / "m.onnx")
    with pytest.raises(SeedgeError, match="give `batch` or min/opt/max_batch, not both"):
        build_engine(onnx_file, tmp_path / "m.plan", "fp32", batch="1,8", max_batch=8)
    with pytest.raises(SeedgeError, match="positive batch sizes"):  # checked before TensorRT is needed
        build_engine(onnx_file, tmp_path / "m.plan", "fp32", batch="0")


def test_timing_cache_is_named_by_tensorrt_release_and_gpu(tmp_path):
    key = timing_cache_key("10.13.3.9", "NVIDIA H200", "9.0")
    assert key == "trt10.13.3.9-sm90-nvidia-h200"
    others = {timing_cache_key("10.13.3.9", "NVIDIA H100 80GB HBM3", "9.0"),
              timing_cache_key("10.13.3.9", "NVIDIA H200", "10.0"),
              timing_cache_key("10.14.1.48", "NVIDIA H200", "9.0")}
    assert key not in others and len(others) == 3  # never shared across GPU, architecture or release
    assert "/" not in timing_cache_key("11.0", "weird/gpu name", "8.7")  # a file name, whatever the GPU says
    # an export builds in OUT/.staging-NAME-xxxxxxxx: its engines reuse this build's cache, then the
    # cache of the OUT/NAME export it replaces; a plan built elsewhere only looks beside itself
    plan = tmp_path / ".staging-demo-0123abcd" / "tensorrt" / "model.fp16.plan"
    assert timing_cache_file(plan, key) == plan.parent / f"timing-{key}.cache"
    assert timing_cache_sources(plan, key) == [plan.parent / f"timing-{key}.cache",
                                               tmp_path / "demo" / "tensorrt" / f"timing-{key}.cache"]
    assert timing_cache_sources(tmp_path / "x" / "m.plan", key) == [tmp_path / "x" / f"timing-{key}.cache"]


def _facts_beside(plan: Path, data: bytes, **facts) -> dict:
    """A hand-written engine + facts file, as build_engine writes them."""
    import hashlib

    plan.parent.mkdir(parents=True, exist_ok=True)
    plan.write_bytes(data)
    facts = {"tensorrt_version": "10.13.3.9", "gpu": "NVIDIA H200", "compute_capability": "9.0",
             "precision": "fp16", "profile": {"min": [1, 3, 8, 8], "opt": [8, 3, 8, 8], "max": [64, 3, 8, 8]},
             "engine_sha256": hashlib.sha256(data).hexdigest(), **facts}
    facts_path(plan).write_text(json.dumps(facts))
    return facts


def test_build_facts_are_checked_before_deserializing(tmp_path):
    plan = tmp_path / "tensorrt" / "model.fp16.plan"
    data = b"serialized engine"
    written = _facts_beside(plan, data)
    assert facts_path(plan).name == "model.fp16.facts.json"
    h200 = {"tensorrt_version": "10.13.3.9", "gpu": "NVIDIA H200", "compute_capability": "9.0"}
    facts = merged_facts(plan, None)
    assert facts == written
    check_build_facts(plan, facts, h200, data)  # the machine that built it
    check_build_facts(plan, facts, {**h200, "tensorrt_version": "10.13.3.9.post1"}, data)  # same release
    check_build_facts(plan, facts, {**h200, "gpu": "NVIDIA H100 80GB HBM3"}, data)  # same architecture
    cases = [({**h200, "compute_capability": "8.9", "gpu": "NVIDIA L4"}, data,
              r"built for compute capability 9.0 \(NVIDIA H200\) but this GPU is 8.9 \(NVIDIA L4\); rebuild"),
             ({**h200, "tensorrt_version": "10.14.1.48"}, data,
              "built with TensorRT 10.13.3.9 but this machine has 10.14.1.48; rebuild"),
             (h200, b"another engine", "not the ones its build facts describe .*model.fp16.facts.json.*rebuild")]
    for here, engine, match in cases:
        with pytest.raises(SeedgeError, match=match) as e:
            check_build_facts(plan, facts, here, engine)
        _one_line(e)
    # the manifest's facts and the file's must agree: a file left from another build means a stale engine
    assert merged_facts(plan, {"precision": "fp16", "onnx": "model.fp16.onnx"})["onnx"] == "model.fp16.onnx"
    with pytest.raises(SeedgeError, match="the manifest says precision 'int8' but model.fp16.facts.json says "
                                          "'fp16'; rebuild") as e:
        merged_facts(plan, {"precision": "int8"})
    _one_line(e)
    facts_path(plan).write_text("{not json")
    with pytest.raises(SeedgeError, match="model.fp16.facts.json: unreadable build facts") as e:
        merged_facts(plan, None)
    _one_line(e)
    facts_path(plan).unlink()  # an engine without a facts file: the manifest's facts alone
    assert merged_facts(plan, {"gpu": "x"}) == {"gpu": "x"} and merged_facts(plan, None) == {}


def test_runner_says_whether_it_replays_cuda_graphs(tmp_path):
    plan = tmp_path / "model.plan"
    plan.write_bytes(b"engine bytes")
    assert TensorRTRunner(plan, device="cuda").describe()["cuda_graph"] is False
    assert TensorRTRunner(plan, device="cuda", cuda_graph=True).describe()["cuda_graph"] is True


# ---------------------------------------------------------------------- with TensorRT and a GPU

def _model_folder(root: Path) -> Path:
    """A real export folder without OpenVINO (GPU images lack it): model.onnx + reference + manifest."""
    import torch

    from seedge import artifacts
    from seedge.onnx.convert import export_onnx
    from seedge.models import create_model
    from seedge.preprocess import PreprocessSpec

    folder = root / "trt"
    folder.mkdir()
    torch.manual_seed(0)
    model = create_model("se_resnet10_cifar_tiny").eval()
    export_onnx(model, folder / "model.onnx", (3, 32, 32))
    x = np.random.default_rng(0).standard_normal((16, 3, 32, 32)).astype(np.float32)
    with torch.inference_mode():
        logits = model(torch.from_numpy(x)).numpy()
    np.savez(folder / artifacts.REFERENCE, input=x, logits=logits)
    manifest = artifacts.new_manifest(
        name="trt", model={"arch": "se_resnet10_cifar_tiny", "num_classes": 10,
                           "class_names": [str(i) for i in range(10)]},
        input_spec={"name": "input", "shape": ["batch", 3, 32, 32], "dtype": "float32", "layout": "NCHW"},
        output_spec={"name": "logits", "shape": ["batch", 10]},
        preprocessing=PreprocessSpec.from_model_cfg(model.seedge_cfg).to_dict(), baseline={}, tools={})
    manifest["artifacts"] = [artifacts.artifact_entry("onnx-fp32", "onnx", "fp32", "model.onnx", folder, "onnxruntime")]
    artifacts.write_manifest(folder, manifest)
    return folder


@pytest.fixture(scope="module")
def trt_folder(tmp_path_factory) -> Path:
    if not TRT_OK:
        pytest.skip(f"TensorRT engine tests need TensorRT and a GPU: {TRT_WHY}")
    return _model_folder(tmp_path_factory.mktemp("trt"))


def _ort(onnx_file: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64), b.astype(np.float64)
    return float(np.mean((a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))))


@pytest.mark.gpu
@pytest.mark.tensorrt
def test_fp32_engine_matches_onnxruntime_at_any_batch(trt_folder, tmp_path, capfd):
    import tensorrt as trt

    plan = tmp_path / "tensorrt" / "model.fp32.plan"
    facts = build_engine(trt_folder / "model.onnx", plan, "fp32", opt_batch=4, max_batch=16, workspace_gb=1)
    err = capfd.readouterr().err
    assert "tensorrt: building fp32 engine" in err and "tensorrt: wrote" in err  # start/end progress lines
    assert facts["precision_route"] == "strongly_typed" and facts["tf32"] is False
    assert facts["tensorrt_version"] == trt.__version__ and facts["compute_capability"].count(".") == 1
    assert facts["profile"]["min"] == [1, 3, 32, 32] and facts["profile"]["max"] == [16, 3, 32, 32]
    data = plan.read_bytes()
    assert len(data) == facts["engine_bytes"]
    # the file is the serialized engine as-is: TensorRT deserializes it with nothing stripped
    assert trt.Runtime(trt.Logger(trt.Logger.WARNING)).deserialize_cuda_engine(data) is not None

    x = np.random.default_rng(1).standard_normal((40, 3, 32, 32)).astype(np.float32)
    want = _ort(trt_folder / "model.onnx", x)
    with TensorRTRunner(plan, device="cuda", build=facts) as r:
        for n in (1, 5, 16, 40):  # 40 > max 16: run in chunks
            got = r.infer({"input": x[:n]})[0]
            assert got.shape == (n, 10) and got.dtype == np.float32
            np.testing.assert_allclose(got, want[:n], atol=1e-3, rtol=0)
        d = r.describe()
        assert d["profile"]["max"] == [16, 3, 32, 32] and d["gpu"] == facts["gpu"]
    with pytest.raises(SeedgeError, match="built for compute capability 1.0"):
        with TensorRTRunner(plan, device="cuda", build={**facts, "compute_capability": "1.0"}):
            pass


@pytest.mark.gpu
@pytest.mark.tensorrt
def test_fp16_engine_from_an_fp16_graph(trt_folder, tmp_path):
    from seedge.quantize import fp16

    src = tmp_path / "model.fp16.onnx"
    fp16.convert_onnx_fp16(trt_folder / "model.onnx", src)
    plan = tmp_path / "model.fp16.plan"
    facts = build_engine(src, plan, "fp16", max_batch=16, workspace_gb=1, progress=False)
    assert facts["graph_precision"] == "fp16" and facts["builder_flags"] == []
    x = np.load(trt_folder / "reference.npz")["input"]
    with TensorRTRunner(plan, device="cuda") as r:
        got = r.infer({"input": x})[0]
    assert _cosine(got, _ort(trt_folder / "model.onnx", x)) > 0.999


@pytest.mark.gpu
@pytest.mark.tensorrt
def test_int8_engine_from_explicit_qdq(trt_folder, tmp_path):
    from seedge.quantize import int8

    ref = np.load(trt_folder / "reference.npz")
    qdq = tmp_path / "model.int8.onnx"
    int8.quantize_onnx_int8(trt_folder / "model.onnx", qdq, ref["input"])
    plan = tmp_path / "model.int8.plan"
    facts = build_engine(qdq, plan, "int8", max_batch=16, workspace_gb=1, progress=False)
    assert facts["graph_precision"] == "int8"
    with TensorRTRunner(plan, device="cuda") as r:
        got = r.infer({"input": ref["input"]})[0]
    # same Q/DQ graph in ONNX Runtime: TensorRT must agree with it closely
    assert _cosine(got, _ort(qdq, ref["input"])) > 0.99


@pytest.mark.gpu
@pytest.mark.tensorrt
def test_flags_route_where_tensorrt_10_has_them(trt_folder, tmp_path):
    import tensorrt as trt

    if not hasattr(trt.BuilderFlag, "FP16"):
        pytest.skip(f"TensorRT {trt.__version__} has no precision builder flags (removed in 11)")
    plan = tmp_path / "model.fp16.flags.plan"
    facts = build_engine(trt_folder / "model.onnx", plan, "fp16", route="flags", max_batch=16, progress=False)
    assert facts["precision_route"] == "flags" and facts["builder_flags"] == ["FP16"]
    x = np.load(trt_folder / "reference.npz")["input"]
    with TensorRTRunner(plan, device="cuda") as r:
        assert _cosine(r.infer({"input": x})[0], _ort(trt_folder / "model.onnx", x)) > 0.999


@pytest.mark.gpu
@pytest.mark.tensorrt
def test_runtime_runs_the_engine_without_torch(trt_folder, tmp_path):
    import shutil

    from seedge import artifacts

    folder = tmp_path / "with-engine"
    shutil.copytree(trt_folder, folder)
    facts = build_engine(folder / "model.onnx", folder / "tensorrt" / "model.fp32.plan", "fp32",
                         max_batch=16, progress=False)
    manifest = artifacts.read_manifest(folder)
    manifest["artifacts"].append(artifacts.artifact_entry("tensorrt-fp32", "tensorrt", "fp32",
                                                          "tensorrt/model.fp32.plan", folder, "tensorrt", facts))
    artifacts.write_manifest(folder, manifest)
    script = textwrap.dedent("""
        import json, sys
        sys.modules["torch"] = None
        from seedge.runtime import Model
        with Model.open(sys.argv[1], device="cuda") as m:
            print(json.dumps({"artifact": m.artifact["id"], "self_test": m.self_test(),
                              "memory": m.describe().get("cuda_memory")}))
    """)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", script, str(folder)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["artifact"] == "tensorrt-fp32" and out["memory"] == "cuda-python"
    assert out["self_test"]["passed"], out["self_test"]


@pytest.mark.gpu
@pytest.mark.tensorrt
def test_timing_cache_facts_file_and_cuda_graphs(trt_folder, tmp_path):
    """A rebuild reuses the timing cache of the build before; the facts file is the manifest's
    facts; a CUDA-graph runner gives the plain runner's logits at every batch."""
    stage = tmp_path / ".staging-trt-0123abcd" / "tensorrt"
    first = build_engine(trt_folder / "model.onnx", stage / "model.fp32.plan", "fp32", batch="1,4,16",
                         workspace_gb=1, progress=False)
    assert first["profile"]["min"][0] == 1 and first["profile"]["opt"][0] == 4 and first["profile"]["max"][0] == 16
    cache = first["timing_cache"]
    assert cache["reused_from"] is None and cache["bytes"] > 0
    assert (stage.parent / cache["file"]).is_file() and cache["key"] in cache["file"]
    assert json.loads(facts_path(stage / "model.fp32.plan").read_text()) == first
    again = build_engine(trt_folder / "model.onnx", stage / "model.fp32.plan", "fp32", batch="1,4,16",
                         workspace_gb=1, progress=False)
    assert again["timing_cache"]["reused_from"] == "this export"
    published = tmp_path / "trt" / "tensorrt"  # the export a new staging folder replaces
    published.mkdir(parents=True)
    (published / Path(cache["file"]).name).write_bytes((stage.parent / cache["file"]).read_bytes())
    fresh = tmp_path / ".staging-trt-89abcdef" / "tensorrt" / "model.fp32.plan"
    assert build_engine(trt_folder / "model.onnx", fresh, "fp32", batch="1,4,16", workspace_gb=1,
                        progress=False)["timing_cache"]["reused_from"] == "the previous export"

    x = np.random.default_rng(2).standard_normal((16, 3, 32, 32)).astype(np.float32)
    with TensorRTRunner(stage / "model.fp32.plan", device="cuda") as plain, \
            TensorRTRunner(stage / "model.fp32.plan", device="cuda", cuda_graph=True) as graphed:
        assert graphed.describe()["cuda_graph"] is True and graphed.describe()["built_with"]["precision"] == "fp32"
        for n in (1, 4, 16, 1):  # a second pass at batch 1 replays the graph captured first
            np.testing.assert_allclose(graphed.infer({"input": x[:n]})[0], plain.infer({"input": x[:n]})[0],
                                       atol=1e-5, rtol=0)


def test_export_batch_is_the_tensorrt_profile_and_checked_first(tmp_path):
    """`seedge export --batch` shapes only TensorRT engines: without tensorrt in --formats it is
    refused rather than ignored, and a bad list is one line, both before any model is loaded."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for args, want in ((["--formats", "onnx", "--batch", "1,8"],
                        "--batch 1,8: sets the batch profile of TensorRT engines, and --formats has no tensorrt"),
                       (["--formats", "onnx,tensorrt", "--batch", "0,8"], "give positive batch sizes")):
        proc = subprocess.run([sys.executable, "-m", "seedge", "export", *args, "--out", str(tmp_path)],
                              capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert want in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written
