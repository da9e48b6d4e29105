"""export_model: every CPU format per model family, the manifest, metadata, and the publish rule."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from _export_fixtures import perturb_onnx
from seedge.artifacts import MANIFEST, check_integrity, read_manifest
from seedge.backends import BACKENDS
from seedge.checkpoint import save_checkpoint
from seedge.errors import CheckFailed, SeedgeError
from seedge.export import builders as B
from seedge.export.options import ExportOptions, parse_img_size, parse_list
from seedge.export.pipeline import export_model
from seedge.models import create_model

CPU_FORMATS = ("torchscript", "onnx", "openvino")
FAST = dict(count_nodes=False, pt2=False, verify_samples=0)


def _checkpoint(tmp_path: Path, arch: str, num_classes: int = 10, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    model = create_model(arch, num_classes=num_classes).eval()
    return save_checkpoint(model, tmp_path / "ckpt" / arch.replace("/", "_"))


@pytest.fixture
def tiny(tmp_path) -> Path:
    return _checkpoint(tmp_path, "se_resnet10_cifar_tiny")


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(checkpoint, --out, folder): the tiny model exported once to every CPU format.

    Read-only: the torch.onnx export in each export_model call costs seconds, so the tests
    that only need a published folder share this one (a test that changes it takes a copy).
    """
    root = tmp_path_factory.mktemp("tiny-export")
    ckpt = _checkpoint(root, "se_resnet10_cifar_tiny")
    out = root / "exported"
    return ckpt, out, export_model(ckpt, ExportOptions(out=out, count_nodes=False, pt2=True))


def _eager(path: Path, x: np.ndarray) -> np.ndarray:
    from seedge.checkpoint import load_model

    model, _ = load_model(path)
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def test_tiny_export_writes_a_complete_verified_folder(tiny_export):
    tiny, out, folder = tiny_export
    assert folder == out / "se_resnet10_cifar_tiny"
    m = read_manifest(folder)

    assert m["schema_version"] == 1
    assert m["model"]["arch"] == "se_resnet10_cifar_tiny" and m["model"]["num_classes"] == 10
    assert m["model"]["class_names"] == [str(i) for i in range(10)]
    assert m["model"]["source_sha256"] and m["model"]["source"] == str(tiny)
    assert m["input"] == {"name": "input", "shape": ["batch", 3, 32, 32], "dtype": "float32", "layout": "NCHW"}
    assert m["output"]["name"] == "logits" and m["output"]["shape"] == ["batch", 10]
    assert m["preprocessing"]["input_size"] == [3, 32, 32] and len(m["preprocessing"]["mean"]) == 3
    assert [p["name"] for p in m["passes"]][:2] == ["drop_dropout", "fold_bn"]
    assert any(p["changed"] for p in m["passes"])
    for tool in ("torch", "onnx", "onnxruntime", "openvino", "onnxslim", "seedge", "python"):
        assert m["tools"][tool], tool

    ids = [a["id"] for a in m["artifacts"]]
    assert ids == ["torchscript-fp32", "onnx-fp32", "openvino-fp32"]
    for a in m["artifacts"]:
        assert a["backend"] in BACKENDS
        check_integrity(folder, a)  # sha256 recorded matches the bytes
        assert a["parity"]["passed"] and a["parity"]["top1_agreement"] == 1.0
        assert a["parity"]["max_abs_diff"] <= 1e-3
    arts = {a["id"]: a for a in m["artifacts"]}
    assert arts["openvino-fp32"]["build"]["inference_precision"] == "f32"
    assert arts["openvino-fp32"]["build"]["compress_to_fp16"] is False
    assert arts["onnx-fp32"]["build"]["simplify"]["applied"] is True
    pt2 = arts["torchscript-fp32"]["build"]["pt2"]
    assert pt2["ok"] is True and (folder / pt2["file"]).is_file()

    # The baseline lives in the folder, and reference.npz holds the eager logits of the inputs.
    assert (folder / "model.safetensors").is_file() and (folder / "model.json").is_file()
    with np.load(folder / "reference.npz") as ref:
        assert ref["input"].shape == (16, 3, 32, 32) and ref["input"].dtype == np.float32
        np.testing.assert_allclose(ref["logits"], _eager(tiny, ref["input"]), atol=1e-5)
    assert m["reference"]["inputs"] == "random-normal"

    # Metadata beside the artifacts: ONNX metadata_props and OpenVINO rt_info.
    import onnx

    props = {p.key: p.value for p in onnx.load(str(folder / "model.onnx")).metadata_props}
    assert props["seedge.arch"] == "se_resnet10_cifar_tiny"
    assert json.loads(props["seedge.class_names"]) == m["model"]["class_names"]
    assert json.loads(props["seedge.preprocessing"]) == m["preprocessing"]
    from seedge.export.openvino_export import read_rt_info

    rt = read_rt_info(folder / "openvino" / "model.xml")
    assert rt["arch"] == "se_resnet10_cifar_tiny" and json.loads(rt["class_names"]) == m["model"]["class_names"]

    # Nothing but the published folder is left under --out.
    assert [p.name for p in out.iterdir()] == ["se_resnet10_cifar_tiny"]


# One model per family at a small input. se_resnext50_32x4d is exported (all CPU formats) by the
# timm state-dict test below and mobilenet_v3_large by the torchvision test in test_export_cmd.py.
# Each case costs 10-80 s on the 2-core CI machine (torch.onnx export, OpenVINO conversion, parity),
# so all are slow: the fast default's end-to-end export is the tiny model above; `bash .ci/run`
# exports every family.
FAMILIES = [
    ("se_resnet18", 64),
    ("res_se_net", (128, 160)),  # six 2x poolings after a stride-2 stem: 128 px is its smallest input
    ("mobilenet_v3_small", 64),
    ("regnet_y_400mf", 64),
    ("se_resnet18_cifar", 32),
    ("efficientnet_b0", 64),
]


@pytest.mark.slow
@pytest.mark.parametrize("arch,size", FAMILIES)
def test_every_family_exports_to_every_cpu_format(arch, size, tmp_path):
    ckpt = _checkpoint(tmp_path, arch, num_classes=7)
    folder = export_model(ckpt, ExportOptions(formats=CPU_FORMATS, out=tmp_path / "out", img_size=size, **FAST))
    m = read_manifest(folder)
    h, w = parse_img_size(size)
    assert m["input"]["shape"] == ["batch", 3, h, w]
    assert [a["id"] for a in m["artifacts"]] == ["torchscript-fp32", "onnx-fp32", "openvino-fp32"]
    assert all(a["parity"]["passed"] for a in m["artifacts"]), [a["parity"] for a in m["artifacts"]]


@pytest.mark.slow  # a ResNeXt-50 through every CPU format: ~2 min here
def test_timm_legacy_seresnext50_state_dict_exports_and_matches_timm(tmp_path):
    timm = pytest.importorskip("timm")
    torch.manual_seed(0)
    ref_model = timm.create_model("legacy_seresnext50_32x4d", pretrained=False, num_classes=6).eval()
    path = tmp_path / "timm_seresnext.pth"
    torch.save(ref_model.state_dict(), path)
    folder = export_model(path, ExportOptions(arch="se_resnext50_32x4d", formats=CPU_FORMATS, out=tmp_path / "out",
                                              img_size=64, **FAST))
    m = read_manifest(folder)
    assert m["model"]["num_classes"] == 6
    assert [a["id"] for a in m["artifacts"]] == ["torchscript-fp32", "onnx-fp32", "openvino-fp32"]
    assert all(a["parity"]["passed"] for a in m["artifacts"]), [a["parity"] for a in m["artifacts"]]
    with np.load(folder / "reference.npz") as ref, torch.no_grad():
        expected = ref_model(torch.from_numpy(ref["input"])).numpy()
        np.testing.assert_allclose(ref["logits"], expected, atol=1e-4)


def test_failed_verification_is_not_published_and_old_export_stays(tiny_export, tmp_path, monkeypatch):
    tiny, published, _ = tiny_export
    out = tmp_path / "exported"
    shutil.copytree(published, out)  # a private copy of a real published export
    folder = out / "se_resnet10_cifar_tiny"
    before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}

    def wrong_onnx(ctx):
        # A real, valid ONNX graph of the same architecture with other classifier weights: it runs,
        # but answers differently from the eager model, which verification must catch.
        perturb_onnx(folder / "model.onnx", ctx.path("model.onnx"))
        return B.Built("model.onnx", {})

    monkeypatch.setitem(B.BUILDERS, ("onnx", "fp32"), B.Builder("onnx", "fp32", "onnxruntime", wrong_onnx))
    with pytest.raises(CheckFailed, match="onnx-fp32"):
        export_model(tiny, ExportOptions(formats=("onnx",), out=out, passes=[], **FAST))
    after = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert after == before  # byte-identical, manifest included
    assert (folder / MANIFEST).read_bytes() == before[Path(MANIFEST)]
    assert [p.name for p in out.iterdir()] == ["se_resnet10_cifar_tiny"]  # no staging left behind


def test_thresholds_reach_verification(tiny_export, tmp_path, monkeypatch):
    tiny, _, published = tiny_export

    def published_onnx(ctx):
        # The already exported, correct graph of this checkpoint (saves a torch.onnx export):
        # at default thresholds it passes, so only the threshold below can refuse it.
        shutil.copyfile(published / "model.onnx", ctx.path("model.onnx"))
        return B.Built("model.onnx", {})

    monkeypatch.setitem(B.BUILDERS, ("onnx", "fp32"), B.Builder("onnx", "fp32", "onnxruntime", published_onnx))
    # A zero tolerance on cosine distance no FP32 ONNX graph meets -> refused, nothing published.
    with pytest.raises(CheckFailed, match=r"not published, parity failed for onnx-fp32: cosine \S+ < 1\.500000$"):
        export_model(tiny, ExportOptions(formats=("onnx",), out=tmp_path / "out", passes=[],
                                         thresholds={"fp32": {"min_cosine": 1.5}}, **FAST))
    assert not (tmp_path / "out" / "se_resnet10_cifar_tiny").exists()


# --- options and the registry -------------------------------------------------------------------

def test_every_builder_names_a_known_backend_and_a_unique_id():
    assert {b.id for b in B.BUILDERS.values()} >= {
        "torchscript-fp32", "onnx-fp32", "openvino-fp32", "openvino-fp16", "onnx-fp16", "onnx-int8",
        "openvino-int8", "tensorrt-fp32", "tensorrt-fp16", "tensorrt-int8"}
    for (fmt, prec), b in B.BUILDERS.items():
        assert (b.format, b.precision) == (fmt, prec) and b.backend in BACKENDS
    with pytest.raises(ValueError, match="already registered"):
        B.register_builder("onnx", "fp32", "onnxruntime")(lambda ctx: None)


def test_unknown_names_are_rejected_with_the_choices():
    with pytest.raises(SeedgeError, match="unknown format 'onnxx'; choose from torchscript"):
        parse_list("onnx,onnxx", B.FORMATS, "format")
    assert parse_list("onnx, openvino,onnx", B.FORMATS, "format") == ("onnx", "openvino")
    assert parse_img_size("64x96") == (64, 96) and parse_img_size(32) == (32, 32)
    with pytest.raises(SeedgeError, match="--img-size"):
        parse_img_size("big")


def test_builder_without_its_backing_module_says_so(tiny, tmp_path, monkeypatch):
    monkeypatch.setitem(B.BUILDERS, ("onnx", "fp16"),
                        B.Builder("onnx", "fp16", "onnxruntime", B.build_onnx_fp16, modules=("seedge.no_such_mod",)))
    with pytest.raises(SeedgeError, match="no seedge.no_such_mod module"):
        export_model(tiny, ExportOptions(formats=("onnx",), precisions=("fp16",), out=tmp_path / "out", **FAST))
    assert not (tmp_path / "out").exists()


def test_tensorrt_without_tensorrt_fails_before_any_work(tiny, tmp_path):
    import importlib.util

    if importlib.util.find_spec("tensorrt"):
        pytest.skip("TensorRT is installed here; the GPU tests cover it")
    with pytest.raises(SeedgeError, match="tensorrt"):
        export_model(tiny, ExportOptions(formats=("tensorrt",), out=tmp_path / "out", **FAST))
    assert not (tmp_path / "out").exists()


def test_int8_without_calibration_data_asks_for_calib(tiny, tmp_path):
    with pytest.raises(SeedgeError, match="--calib"):
        export_model(tiny, ExportOptions(formats=("onnx",), precisions=("int8",), out=tmp_path / "out", **FAST))
    assert not (tmp_path / "out").exists()


def test_exclude_names_a_real_module(tiny, tmp_path):
    with pytest.raises(SeedgeError, match="--exclude nope"):
        export_model(tiny, ExportOptions(formats=("onnx",), exclude=["nope"], out=tmp_path / "out", **FAST))


@pytest.mark.slow  # trains the demo model into this session's cache on first use
def test_default_source_is_the_demo_with_fp16_and_int8_from_its_training_data(tmp_path):
    out = tmp_path / "exported"
    # No --calib: the demo checkpoint records that it was trained on `digits`.
    folder = export_model(None, ExportOptions(formats=("onnx", "openvino"), precisions=("fp16", "int8"), out=out,
                                              count_nodes=False, calib_samples=64, verify_samples=128))
    assert folder == out / "demo"
    m = read_manifest(folder)
    assert m["model"]["source"] == "demo" and m["model"]["trained_on"] == "digits"
    assert [a["id"] for a in m["artifacts"]] == ["onnx-fp16", "onnx-int8", "openvino-fp16", "openvino-int8"]
    for a in m["artifacts"]:
        assert a["parity"]["passed"], (a["id"], a["parity"])
        assert a["parity"]["accuracy"] is not None  # digits labels reached verification
    arts = {a["id"]: a for a in m["artifacts"]}
    assert arts["onnx-int8"]["build"]["calibration"] == {
        "source": "digits", "samples": 64, "method": "minmax", "policy": "se-aware", "exclude": []}
    # f32 where the CPU has no 16-bit float execution; where it has (bf16 on AVX512-BF16/AMX), the
    # precision is chosen by measured parity and speed, and the candidates are recorded.
    from seedge.export.openvino_precision import cpu_sixteen_bit_precisions

    fp16_facts = arts["openvino-fp16"]["build"]
    assert fp16_facts["inference_precision"] in ("f32", *cpu_sixteen_bit_precisions()), fp16_facts
    assert fp16_facts["inference_precision"] == "f32" or fp16_facts["execution_choice"]["candidates"], fp16_facts
    # Real labelled digits, not noise, are the reference inputs, with the eager model's logits.
    assert m["reference"]["inputs"] == "data" and m["verification"]["samples"]["data"] == 128
    with np.load(folder / "reference.npz") as ref:
        assert set(ref.files) == {"input", "logits", "labels"} and ref["labels"].dtype == np.int64
        np.testing.assert_allclose(ref["logits"], _eager(folder / "model.safetensors", ref["input"]), atol=1e-5)
    assert arts["openvino-int8"]["build"]["inference_precision"] in ("f32", "bf16")  # chosen and recorded
    # model.onnx was only an input for the others: not requested, so not published.
    assert not (folder / "model.onnx").exists()
    assert {p.name for p in folder.iterdir()} == {
        ".seedge-export", "manifest.json", "reference.npz", "reference", "model.safetensors", "model.json", "model.fp16.onnx",
        "model.int8.onnx", "openvino"}


def test_a_folder_that_is_not_an_export_is_never_replaced(tiny, tmp_path):
    precious = tmp_path / "out" / "mine" / "notes.txt"
    precious.parent.mkdir(parents=True)
    precious.write_text("keep me")
    with pytest.raises(SeedgeError, match="not a seedge export"):
        export_model(tiny, ExportOptions(formats=("onnx",), out=tmp_path / "out", name="mine", **FAST))
    assert precious.read_text() == "keep me" and len(list((tmp_path / "out").iterdir())) == 1


@pytest.mark.slow  # end-to-end export/CLI run: keeps the fast default under 3 min
def test_re_export_says_what_it_replaces(tiny, tmp_path):
    out = tmp_path / "out"
    first, second = [], []
    again = ExportOptions(formats=("onnx",), out=out, name="again", **FAST)
    export_model(tiny, again, progress=lambda m, _p: first.append(m))
    export_model(tiny, again, progress=lambda m, _p: second.append(m))
    assert "publishing" in first and not any("replacing" in m for m in first)
    (note,) = [m for m in second if m.startswith("publishing")]
    assert f"replacing {out / 'again'} (onnx-fp32; exported " in note
