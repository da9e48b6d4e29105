"""Preprocessing inside the artifact (`seedge export --embed-preprocess rgb|bgr [--embed-softmax]`).

- the ONNX prefix graph and OpenVINO's PrePostProcessor give, from uint8 NHWC pixels, what the
  plain artifact gives from seedge.preprocess's float tensor of the same pixels, for each device
  order x network order (colored noise pixels, so a channel mix-up shows), with and without softmax;
- pixels are recovered exactly from seedge's float tensors, and a tensor that is no image is refused;
- on the demo export: the -raw siblings' manifest entries, reference pixels, verify, the runtime's
  choice and its answers on image files (equal to the plain artifacts'), and a skewed embedded
  artifact (wrong mean) fails verify;
- bad use of the options is one line and exit 2 before any work; TensorRT where it is installed.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from _embed_fixtures import EMBED_ORDER, demo_embedded_export
from _export_fixtures import export_folder

from seedge import artifacts
from seedge.errors import SeedgeError
from seedge.preprocess.pixels import pixels_for, pixels_from_tensor, random_pixels, tensor_from_pixels
from seedge.verify.run import softmax


def _spec(network_order: str) -> dict:
    spec = dict(artifacts.read_manifest(export_folder())["preprocessing"])
    spec["color_order"] = network_order
    return spec


def _colour_pixels(spec, n=4):
    return random_pixels(n, spec, seed=3)  # uniform noise: every channel differs


@pytest.mark.parametrize("device_order", ["RGB", "BGR"])
@pytest.mark.parametrize("network_order", ["RGB", "BGR"])
def test_onnx_and_openvino_embedding_equal_the_float_path(tmp_path, device_order, network_order):
    import onnxruntime as ort
    import openvino as ov

    from seedge.export.embedded import Embedding, embed_openvino
    from seedge.onnx.preprocess_graph import embed_preprocess

    folder, spec = export_folder(), _spec(network_order)
    rgb = _colour_pixels(spec)
    feed = pixels_for({"input": {"color_order": device_order}}, rgb)
    # What the plain artifact gives on seedge.preprocess's tensor of the same pictures.
    want = ort.InferenceSession(str(folder / "model.onnx")).run(None, {"input": tensor_from_pixels(rgb, spec)})[0]
    softmaxed = device_order == "BGR"  # one softmax case per network order is enough
    facts = embed_preprocess(folder / "model.onnx", tmp_path / "m.raw.onnx", spec, device_order, softmax=softmaxed)
    assert facts["input"]["dtype"] == "uint8" and facts["input"]["shape"] == ["batch", 32, 32, 3]
    assert ("reverse channels" in facts["input"]["inside"]) == (device_order != network_order)
    onnx_out = ort.InferenceSession(str(tmp_path / "m.raw.onnx")).run(None, {"image": feed})[0]

    embed_openvino(folder / "openvino" / "model.xml", tmp_path / "m.raw.xml", spec, Embedding(device_order, softmaxed))
    compiled = ov.Core().compile_model(str(tmp_path / "m.raw.xml"), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    ov_out = compiled(feed)[0]
    expected = softmax(want) if softmaxed else want
    np.testing.assert_allclose(onnx_out, expected, atol=1e-5)
    np.testing.assert_allclose(ov_out, expected, atol=1e-4)
    # The channel order matters: the same pixels in the other order give other answers.
    other = np.ascontiguousarray(feed[..., ::-1])
    flipped = ort.InferenceSession(str(tmp_path / "m.raw.onnx")).run(None, {"image": other})[0]
    assert np.abs(flipped - expected).max() > 1e-3


def test_pixels_come_back_exactly_from_seedge_tensors_and_noise_is_refused():
    spec = _spec("BGR")
    rgb = _colour_pixels(spec, n=3)
    np.testing.assert_array_equal(pixels_from_tensor(tensor_from_pixels(rgb, spec), spec), rgb)
    noise = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    with pytest.raises(SeedgeError, match="not images preprocessed by this model's spec"):
        pixels_from_tensor(noise, spec)


@pytest.mark.parametrize("args, needle", [
    (["--embed-softmax"], "--embed-softmax goes with --embed-preprocess"),
    (["--embed-preprocess", "bgr", "--formats", "torchscript"], "add onnx, openvino or tensorrt"),
    (["--embed-preprocess", "yuv"], "'yuv' is not one of"),
])
def test_bad_use_is_one_line_and_exit_2(tmp_path, capsys, args, needle):
    from seedge.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["export", "--out", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and needle in err, err
    assert not (tmp_path / "out").exists()  # checked before any work: nothing written


@pytest.mark.slow  # trains the demo model into the session's cache on first use
def test_demo_export_with_embedded_preprocessing(tmp_path):
    from PIL import Image

    from seedge.runtime import Model
    from seedge.verify import verify_artifacts

    folder = demo_embedded_export()
    manifest = artifacts.read_manifest(folder)
    by_id = {a["id"]: a for a in manifest["artifacts"]}
    assert {"onnx-fp32-raw", "onnx-int8-raw", "openvino-fp32-raw", "openvino-int8-raw"} <= set(by_id)
    raw = by_id["openvino-int8-raw"]
    assert raw["file"] == "openvino/model.int8.raw.xml" and by_id["onnx-int8-raw"]["file"] == "model.int8.raw.onnx"
    assert raw["input"]["dtype"] == "uint8" and raw["input"]["layout"] == "NHWC"
    assert raw["input"]["color_order"] == EMBED_ORDER.upper() and raw["input"]["shape"] == ["batch", 32, 32, 3]
    assert "input" not in by_id["openvino-int8"] and "output" not in raw  # plain entries: the manifest's input
    for a in manifest["artifacts"]:  # verified at export, with the thresholds of its precision
        assert a["parity"]["passed"], (a["id"], a["parity"]["reason"])
    assert by_id["onnx-fp32-raw"]["parity"]["max_abs_diff"] <= 1e-4
    # reference.npz carries the pixels its inputs were made from (and the raw file for C++).
    ref = artifacts.read_reference(folder, manifest)
    np.testing.assert_array_equal(tensor_from_pixels(ref["pixels"], manifest["preprocessing"]), ref["input"])
    stored = np.fromfile(folder / manifest["reference"]["raw"]["pixels"]["file"], dtype=np.uint8)
    np.testing.assert_array_equal(stored, ref["pixels"].reshape(-1))

    # `seedge verify` on the published folder, with its labelled data, passes every artifact.
    report = verify_artifacts(folder, manifest)
    assert report["passed"], [(r["id"], r["reason"]) for r in report["artifacts"] if not r["passed"]]

    # The runtime prefers the embedded artifact and answers on image files as the plain one does.
    files = []
    for i, px in enumerate(ref["pixels"][:4]):
        files.append(tmp_path / f"img{i}.png")
        Image.fromarray(px).save(files[-1])
    with Model.open(folder) as m:
        assert m.artifact["id"] == "openvino-int8-raw" and m.takes_pixels
        assert m.self_test()["passed"]
    for fp32 in ("openvino-fp32", "onnx-fp32"):
        with Model.open(folder, artifact=fp32) as plain, Model.open(folder, artifact=f"{fp32}-raw") as emb:
            a, b = plain.classify(files, top_k=3), emb.classify(files, top_k=3)
            assert [[c for c, _ in r] for r in a] == [[c for c, _ in r] for r in b]
            np.testing.assert_allclose([[p for _, p in r] for r in a], [[p for _, p in r] for r in b], atol=1e-4)
            # float tensors made by seedge.preprocess are fed back as their pixels
            np.testing.assert_allclose(emb.predict(ref["input"][:4]), plain.predict(ref["input"][:4]), atol=1e-4)

    # bench times the embedded artifacts on pixels, beside the plain ones (no timing is judged here).
    from seedge.bench.run import run_bench

    rows = run_bench(folder, batches=(2,), warmup=1, iters=2, rounds=1)["results"]
    assert {"openvino-int8-raw", "onnx-fp32-raw"} <= {r["artifact"] for r in rows}

    # A skewed embedded artifact (the mean off by 0.1) fails verify.
    skewed = tmp_path / "skewed"
    shutil.copytree(folder, skewed)
    from seedge.onnx.preprocess_graph import embed_preprocess

    spec = dict(manifest["preprocessing"], mean=[v + 0.1 for v in manifest["preprocessing"]["mean"]])
    embed_preprocess(skewed / "model.onnx", skewed / "model.raw.onnx", spec, EMBED_ORDER)
    m2 = json.loads((skewed / "manifest.json").read_text())
    entry = next(a for a in m2["artifacts"] if a["id"] == "onnx-fp32-raw")
    entry["sha256"] = artifacts.artifact_sha256(skewed / entry["file"])
    artifacts.write_manifest(skewed, m2)
    row = verify_artifacts(skewed, m2, artifacts=["onnx-fp32-raw"])["artifacts"][0]
    assert not row["passed"] and "max abs diff" in row["reason"]


@pytest.mark.tensorrt
def test_tensorrt_engine_from_the_embedded_onnx(tmp_path):
    pytest.importorskip("tensorrt", reason="TensorRT is not installed here: the engine path runs on a GPU machine")
    from seedge.export.options import ExportOptions
    from seedge.export.pipeline import export_model

    folder = export_model(None, ExportOptions(formats=("tensorrt",), precisions=("fp32",), out=tmp_path,
                                              pt2=False, embed_preprocess="rgb", embed_softmax=True))
    entry = next(a for a in artifacts.read_manifest(folder)["artifacts"] if a["id"] == "tensorrt-fp32-raw")
    assert entry["file"] == "tensorrt/model.fp32.raw.plan" and entry["output"]["softmax"] is True
    assert entry["parity"]["passed"]
