"""`seedge export` end to end: a torchvision state dict, --json, and bad input (exit 2, one line, nothing written)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from seedge.artifacts import read_manifest
from seedge.checkpoint import save_checkpoint
from seedge.cli import main
from seedge.models import create_model


def run(argv, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.fixture
def tiny(tmp_path):
    torch.manual_seed(0)
    return save_checkpoint(create_model("se_resnet10_cifar_tiny").eval(), tmp_path / "ckpt" / "tiny")


@pytest.mark.slow  # MobileNetV3-Large through every CPU format: ~30 s here
def test_torchvision_mobilenet_v3_large_state_dict_exports_with_inferred_classes(tmp_path, capsys):
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    tv = torchvision.models.mobilenet_v3_large(weights=None, num_classes=5).eval()
    path = tmp_path / "mbv3.pth"
    torch.save(tv.state_dict(), path)
    out = tmp_path / "exported"
    code, stdout, stderr = run(["export", path, "--model", "mobilenet_v3_large", "--img-size", 64, "--out", out,
                                "--no-count-nodes", "--no-pt2"], capsys)
    assert code == 0, stderr
    folder = out / "mobilenet_v3_large"
    m = read_manifest(folder)
    assert m["model"]["num_classes"] == 5  # from the checkpoint's classifier, no --num-classes given
    assert [a["id"] for a in m["artifacts"]] == ["torchscript-fp32", "onnx-fp32", "openvino-fp32"]
    assert all(a["parity"]["passed"] for a in m["artifacts"])
    for art_id in ("torchscript-fp32", "onnx-fp32", "openvino-fp32"):
        assert art_id in stdout and "FAIL" not in stdout
    assert "building onnx-fp32" in stderr and "building" not in stdout  # progress on stderr only
    with np.load(folder / "reference.npz") as ref, torch.no_grad():  # the weights landed where they belong
        np.testing.assert_allclose(ref["logits"], tv(torch.from_numpy(ref["input"])).numpy(), atol=1e-4)


def test_json_prints_one_document_on_stdout(tiny, tmp_path, capsys):
    code, stdout, stderr = run(["export", tiny, "--formats", "onnx", "--out", tmp_path / "o", "--name", "t",
                                "--no-passes", "--no-count-nodes", "--json"], capsys)
    assert code == 0, stderr
    doc = json.loads(stdout)
    assert doc["folder"] == str(tmp_path / "o" / "t")
    assert [a["id"] for a in doc["artifacts"]] == ["onnx-fp32"] and doc["artifacts"][0]["parity"]["passed"]


class NotAStateDict:
    """Unpickling this needs the class itself: arbitrary code, which seedge refuses by default."""

    def __init__(self):
        self.weights = torch.zeros(3)


def _garbage(tmp_path):
    p = tmp_path / "garbage.pt"
    p.write_bytes(b"\x00\x01 this is not a checkpoint \xff" * 10)
    return p


def _custom_pickle(tmp_path):
    p = tmp_path / "custom.pt"
    torch.save(NotAStateDict(), p)
    return p


def _bare_state_dict(tmp_path):
    p = tmp_path / "bare.pt"
    torch.save(create_model("se_resnet10_cifar_tiny").state_dict(), p)
    return p


BAD = {
    "unknown format": (lambda t: ["--formats", "onnx,tflite"], "unknown format 'tflite'"),
    "unknown precision": (lambda t: ["--precisions", "fp64"], "unknown precision 'fp64'"),
    "garbage checkpoint": (lambda t: [_garbage(t), "--model", "se_resnet18"], "cannot read checkpoint"),
    "pickle needing code": (lambda t: [_custom_pickle(t), "--model", "se_resnet18"], "--unsafe-pickle"),
    "missing checkpoint": (lambda t: [t / "nope.safetensors"], "not found"),
    "bare state dict without --model": (lambda t: [_bare_state_dict(t)], "--model"),
    "unknown pass": (lambda t: [_bare_state_dict(t), "--model", "se_resnet10_cifar_tiny", "--passes", "nope"],
                     "unknown pass"),
    "bad img size": (lambda t: ["--img-size", "big"], "--img-size"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_exits_2_with_one_line_and_writes_nothing(case, tmp_path, capsys):
    make_args, expected = BAD[case]
    args = make_args(tmp_path)
    if not args or str(args[0]).startswith("--"):
        args = [_bare_state_dict(tmp_path), "--model", "se_resnet10_cifar_tiny", *args]
    out = tmp_path / "exported"
    code, stdout, stderr = run(["export", *args, "--out", out], capsys)
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seedge: error:"), stderr
    assert expected in lines[0]
    assert stdout == ""
    assert not out.exists()


def test_int8_without_calib_on_a_checkpoint_without_training_data_exits_2(tiny, tmp_path, capsys):
    code, _, stderr = run(["export", tiny, "--formats", "onnx", "--precisions", "int8", "--out", tmp_path / "o"],
                          capsys)
    assert code == 2 and "--calib" in stderr and len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
