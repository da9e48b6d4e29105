"""The torch-free device runtime: artifact choice, integrity, preprocessing, self-test, predict.

The folder is the shared hand-built export (tests/_export_fixtures.py: real model.onnx,
openvino/model.xml, reference.npz and manifest). The main test runs the runtime in a
subprocess where `import torch` fails, as on a device without torch.
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
from _export_fixtures import add_artifact, export_folder, fresh_copy

from seedge import artifacts
from seedge.errors import SeedgeError
from seedge.preprocess import PreprocessSpec
from seedge.runtime import RUNTIME_BACKENDS, Model, candidates
from seedge.preprocess.pipeline import preprocess_batch, preprocess_image

PIL = pytest.importorskip("PIL.Image")
REPO = Path(__file__).resolve().parents[2]

NO_TORCH_SCRIPT = textwrap.dedent("""
    import json, sys
    sys.modules["torch"] = None          # any `import torch` now raises ImportError
    import numpy as np
    from seedge.runtime import Model
    import seedge.backends.tensorrt      # the runtime's TensorRT path must import without torch too

    folder, image = sys.argv[1], sys.argv[2]
    out = {}
    for backend in ("onnxruntime", "openvino"):
        with Model.open(folder, backend=backend, threads=1) as m:
            ref = np.load(folder + "/reference.npz")
            out[backend] = {"self_test": m.self_test(), "artifact": m.artifact["id"],
                            "predict": m.predict(ref["input"]).tolist(),
                            "classify": m.classify(image, top_k=2)}
    with Model.open(folder, threads=1) as m:
        out["auto"] = m.artifact["id"]
    sys.modules["openvino"] = None       # a device without OpenVINO: the choice moves on
    with Model.open(folder, threads=1) as m:
        out["auto_without_openvino"] = m.artifact["id"]
    out["torch_loaded"] = [k for k, v in sys.modules.items() if k.split(".")[0] == "torch" and v is not None]
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def folder() -> Path:
    return export_folder()


@pytest.fixture(scope="module")
def spec(folder) -> dict:
    return artifacts.read_manifest(folder)["preprocessing"]


def test_runtime_without_torch_self_test_and_predict(folder, tmp_path):
    image = tmp_path / "digit.png"
    rng = np.random.default_rng(1)
    PIL.fromarray(rng.integers(0, 256, (40, 36, 3), dtype=np.uint8)).save(image)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", NO_TORCH_SCRIPT, str(folder), str(image)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])

    assert out["torch_loaded"] == []
    ref = np.load(folder / artifacts.REFERENCE)
    for backend, art in (("onnxruntime", "onnx-fp32"), ("openvino", "openvino-fp32")):
        r = out[backend]
        assert r["artifact"] == art
        st = r["self_test"]
        assert st["passed"], st
        assert st["samples"] == ref["input"].shape[0] and st["top1_agreement"] == 1.0
        assert st["max_abs_diff"] <= 1e-3
        np.testing.assert_allclose(np.array(r["predict"]), ref["logits"], atol=1e-3, rtol=0)
        names = [name for name, _ in r["classify"]]
        probs = [p for _, p in r["classify"]]
        assert len(names) == 2 and set(names) <= {str(i) for i in range(10)}
        assert 1.0 >= probs[0] >= probs[1] > 0.0
    # both backends rank the image's classes the same way
    assert [n for n, _ in out["onnxruntime"]["classify"]] == [n for n, _ in out["openvino"]["classify"]]
    # on a CPU the automatic choice is OpenVINO FP32 (no int8 artifact in this folder)
    assert out["auto"] == "openvino-fp32"
    assert out["auto_without_openvino"] == "onnx-fp32"


def test_predict_images_equals_predict_of_preprocessed_batch(folder, tmp_path):
    rng = np.random.default_rng(2)
    imgs = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), rng.integers(0, 256, (50, 41, 3), dtype=np.uint8)]
    path = tmp_path / "b.png"
    PIL.fromarray(imgs[1]).save(path)
    with Model.open(folder, artifact="onnx-fp32", threads=1) as m:
        batch = np.stack([m.preprocess(imgs[0]), m.preprocess(path)])
        np.testing.assert_array_equal(m.predict([imgs[0], path]), m.predict(batch))
        assert m.predict(batch[0]).shape == (1, 10)  # one CHW tensor is a batch of one
        top = m.classify([imgs[0], path], top_k=3)
        assert len(top) == 2 and all(len(t) == 3 for t in top)
        with pytest.raises(SeedgeError, match="not \\(N, 3, 32, 32\\)"):
            m.predict(np.zeros((2, 3, 16, 16), np.float32))


def test_candidates_prefer_fast_verified_artifacts():
    def art(i, fmt, precision, backend, passed=True):
        return {"id": i, "format": fmt, "precision": precision, "backend": backend, "parity": {"passed": passed}}

    manifest = {"name": "m", "artifacts": [
        art("onnx-fp32", "onnx", "fp32", "onnxruntime"), art("onnx-int8", "onnx", "int8", "onnxruntime"),
        art("openvino-fp32", "openvino", "fp32", "openvino"), art("openvino-int8", "openvino", "int8", "openvino", False),
        art("tensorrt-fp16", "tensorrt", "fp16", "tensorrt"), art("torchscript-fp32", "torchscript", "fp32", "torchscript"),
    ]}
    ids = lambda c: [(a["id"], b) for a, b in c]  # noqa: E731
    # openvino-int8 failed parity: never picked automatically; torchscript needs torch: never picked
    assert ids(candidates(manifest, device="cpu")) == [
        ("openvino-fp32", "openvino"), ("onnx-int8", "onnxruntime"), ("onnx-fp32", "onnxruntime")]
    assert ids(candidates(manifest, device="cuda"))[0] == ("tensorrt-fp16", "tensorrt")
    # OpenVINO reads ONNX files too: asked for openvino, it also gets the ONNX int8 graph
    assert ids(candidates(manifest, backend="openvino")) == [("onnx-int8", "openvino"), ("openvino-fp32", "openvino"),
                                                              ("onnx-fp32", "openvino")]
    assert ids(candidates(manifest, artifact="onnx-fp32", backend="openvino")) == [("onnx-fp32", "openvino")]
    with pytest.raises(SeedgeError, match="cannot run on the runtime's 'torchscript' backend"):
        candidates(manifest, artifact="torchscript-fp32")
    with pytest.raises(SeedgeError, match="no artifact for backend 'tensorrt' on cpu"):
        candidates(manifest, backend="tensorrt", device="cpu")
    with pytest.raises(SeedgeError, match="is not one of cpu, cuda"):
        candidates(manifest, device="tpu")


def test_open_refuses_changed_artifact(tmp_path):
    copy = fresh_copy(tmp_path)
    onnx_file = copy / "model.onnx"
    onnx_file.write_bytes(onnx_file.read_bytes() + b"\0")
    with pytest.raises(SeedgeError, match="sha256 differs"):
        Model.open(copy, artifact="onnx-fp32")


def test_open_without_a_runnable_artifact_says_why(folder):
    with pytest.raises(SeedgeError, match="no artifact for backend 'tensorrt' on cpu"):
        Model.open(folder, backend="tensorrt")
    # no TensorRT engine here, and this onnxruntime has no CUDA provider: each reason is named
    with pytest.raises(SeedgeError, match="no artifact could be opened on cuda: onnx-fp32: .*has no CUDAExecutionProvider.*seedge\[onnxruntime-gpu\]"):
        Model.open(folder, device="cuda")


def test_self_test_fails_when_outputs_drift(tmp_path):
    copy = fresh_copy(tmp_path)
    ref = dict(np.load(copy / artifacts.REFERENCE))
    drifted = ref["logits"].copy()
    drifted[0, 0] += 0.01  # beyond FP32's 1e-3 but too small to change the top-1 class
    np.savez(copy / artifacts.REFERENCE, input=ref["input"], logits=drifted)
    with Model.open(copy, artifact="onnx-fp32", threads=1) as m:
        st = m.self_test()
        assert not st["passed"] and "max abs diff" in st["reason"] and st["top1_agreement"] == 1.0
        assert m.self_test(atol=0.05)["passed"]  # an explicit tolerance replaces the FP32 default
    # a label-changing error fails on agreement even without a max-abs bound (INT8/FP16 rules)
    swapped = np.roll(ref["logits"], 1, axis=1)  # every top-1 class moves by one
    np.savez(copy / artifacts.REFERENCE, input=ref["input"], logits=swapped)
    add_artifact(copy, "onnx-int8", "onnx", "int8", "model.onnx", "onnxruntime")  # same file, int8 rules
    with Model.open(copy, artifact="onnx-int8", threads=1) as m:
        st = m.self_test()
        assert not st["passed"] and "top-1 agreement" in st["reason"]


def test_self_test_is_judged_by_the_one_parity_module(folder):
    """The self-test's metrics and thresholds are seedge.verify.parity's, the ones verify uses."""
    from seedge.verify.parity import compare, thresholds_for

    ref = np.load(folder / artifacts.REFERENCE)
    with Model.open(folder, artifact="onnx-fp32", threads=1) as m:
        got = m.predict(ref["input"])
        st = m.self_test()
    assert st["thresholds"] == thresholds_for("fp32")
    want = compare(ref["logits"], got)
    assert {k: st[k] for k in want} == want and st["passed"]


def test_runtime_runs_each_cpu_artifact_with_the_settings_bench_timed(folder):
    """The device runs what bench timed: same runner class, threads and backend settings."""
    from seedge.bench import run_bench

    # bench lowers its thread count to the free cores when other processes compete (and says so);
    # the runtime then gets the same count, as a device's integrator would pass it.
    bench = run_bench(folder, batches=(1,), warmup=1, iters=2, rounds=1)
    threads = bench["settings"]["threads"]
    timed = {r["artifact"]: r["runner"] for r in bench["results"] if r["backend"] in RUNTIME_BACKENDS}
    assert set(timed) >= {"onnx-fp32", "openvino-fp32"}
    for art_id, bench_runner in timed.items():
        with Model.open(folder, artifact=art_id, threads=threads) as m:
            m.predict(np.load(folder / artifacts.REFERENCE)["input"][:1])
            runtime_runner = m.describe()["runner"]
        # the shapes compiled so far are state, not settings
        strip = lambda d: {k: v for k, v in d.items() if k != "static_shapes"}  # noqa: E731
        assert strip(runtime_runner) == strip(bench_runner), art_id


def test_runtime_refuses_inputs_whose_answer_would_mean_nothing(folder):
    x = np.load(folder / artifacts.REFERENCE)["input"]
    with Model.open(folder, artifact="onnx-fp32", threads=1) as m:
        nan = x[:2].copy()
        nan[1, 0, 0, 0] = np.nan
        with pytest.raises(SeedgeError, match="NaN/Inf"):
            m.predict(nan)
        with pytest.raises(SeedgeError, match="dtype int64"):
            m.predict(np.zeros(x[:1].shape, np.int64))
        with pytest.raises(SeedgeError, match="dtype uint8 .* only as HxW or HxWxC"):
            m.predict(np.zeros(x[:1].shape, np.uint8))
        with pytest.raises(SeedgeError, match="dtype object"):
            m.predict(np.array([[1, "a"]], dtype=object))
        with pytest.raises(SeedgeError, match="not an image"):
            m.predict(3.5)
        # a batch larger than one call takes is run in chunks and equals the per-row answers
        big = np.concatenate([x] * (1 + 150 // len(x)))[:150]
        np.testing.assert_allclose(m.predict(big), np.concatenate([m.predict(r) for r in big]), atol=1e-5, rtol=0)


# ---------------------------------------------------------------------- preprocessing

def _spec(**kw) -> dict:
    base = {"input_size": (3, 4, 6), "mean": (0.5, 0.25, 0.125), "std": (0.5, 0.25, 0.5)}
    base.update(kw)
    return PreprocessSpec(**base).to_dict()


def test_preprocess_constant_image_is_exact():
    img = np.zeros((9, 11, 3), np.uint8)
    img[...] = (255, 51, 0)
    x = preprocess_image(img, _spec())
    assert x.shape == (3, 4, 6) and x.dtype == np.float32
    expect = [(1.0 - 0.5) / 0.5, (0.2 - 0.25) / 0.25, (0.0 - 0.125) / 0.5]
    for c in range(3):
        np.testing.assert_allclose(x[c], expect[c], atol=1e-6)
    bgr = preprocess_image(img, _spec(color_order="BGR"))
    np.testing.assert_allclose(bgr[0], (0.0 - 0.5) / 0.5, atol=1e-6)  # blue first, normalised by mean[0]


def test_preprocess_resize_then_center_crop():
    # 8x8 base: a 2-pixel red frame around green; resize=(8, 8) then crop 4x4 keeps only green
    img = np.zeros((8, 8, 3), np.uint8)
    img[...] = (255, 0, 0)
    img[2:6, 2:6] = (0, 255, 0)
    spec = PreprocessSpec(input_size=(3, 4, 4), resize=(8, 8), mean=(0, 0, 0), std=(1, 1, 1)).to_dict()
    x = preprocess_image(img, spec)
    np.testing.assert_array_equal(x[1], 1.0)
    np.testing.assert_array_equal(x[0], 0.0)


def test_preprocess_grayscale_model_and_array_fast_path_match_pil():
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)
    gray = _spec(input_size=(1, 4, 6), mean=(0.5,), std=(0.25,))
    fast = preprocess_image(rgb, gray)  # numpy path (already input size)
    via_pil = preprocess_image(PIL.fromarray(rgb), gray)
    np.testing.assert_array_equal(fast, via_pil)
    np.testing.assert_array_equal(preprocess_image(rgb, _spec()), preprocess_image(PIL.fromarray(rgb), _spec()))


def test_preprocess_rejects_bad_input(tmp_path):
    with pytest.raises(SeedgeError, match="must be uint8"):
        preprocess_image(np.zeros((4, 6, 3), np.float32), _spec())
    with pytest.raises(SeedgeError, match="image file not found"):
        preprocess_image(tmp_path / "missing.png", _spec())
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(SeedgeError, match="not a readable image"):
        preprocess_image(bad, _spec())
    with pytest.raises(SeedgeError, match="smaller than the input"):
        preprocess_image(np.zeros((4, 6, 3), np.uint8), _spec(resize=(2, 2)))
    with pytest.raises(SeedgeError, match="no images"):
        preprocess_batch([], _spec())
