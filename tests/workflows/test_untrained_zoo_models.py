"""A zoo model before any checkpoint: the no-SOURCE error, --random-weights exports (recorded, gated on
cosine, re-verified the same way), and third-party noise kept off stderr unless -v."""

from __future__ import annotations

import io
import logging

import pytest

from _workflow_fixtures import read_json, seedge, seedge_json


def test_export_model_without_source_says_what_to_pass(tmp_path, capsys):
    _, err = seedge(capsys, "export", "--model", "se_resnet50", "--out", tmp_path, code=2)
    assert err.strip() == ("seedge: error: --model se_resnet50 without SOURCE: pass the checkpoint to export "
                           "(a file or a training run), or --random-weights to export the zoo model untrained")
    _, err = seedge(capsys, "export", "some.pth", "--model", "se_resnet50", "--random-weights", "--out", tmp_path,
                    code=2)
    assert "--random-weights exports zoo model --model ARCH untrained" in err


@pytest.mark.slow  # an export
def test_random_weights_export_is_recorded_and_verified_on_cosine(tmp_path, capsys):
    doc, err = seedge_json(capsys, "export", "--model", "se_resnet10_cifar_tiny", "--random-weights", "--formats",
                           "onnx", "--precisions", "fp32,fp16", "--no-pt2", "--no-count-nodes", "--out", tmp_path)
    assert "random weights: fp16/int8 parity is gated on logit cosine" in err
    folder = tmp_path / "se_resnet10_cifar_tiny"
    manifest = read_json(folder / "manifest.json")
    assert "random weights" in manifest["model"]["random_weights"]["note"]
    fp16 = next(a for a in manifest["artifacts"] if a["id"] == "onnx-fp16")["parity"]["thresholds"]
    assert fp16["min_agreement"] is None and fp16["min_cosine"] == 0.99
    assert manifest["model"]["source"].endswith("se_resnet10_cifar_tiny-10classes-seed0/model.safetensors")
    verified, _ = seedge_json(capsys, "verify", folder)
    assert all(a["passed"] for a in verified["artifacts"])


def test_cuda_runtime_notice_is_hidden_unless_verbose():
    from seedge.cli.quiet import quiet_third_party

    logger = logging.getLogger("torch.utils.cpp_extension")
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    logger.addHandler(handler)
    try:
        quiet_third_party("models")
        logger.warning("No CUDA runtime is found, using CUDA_HOME='%s'", "/usr/local")
        logger.warning("a warning that matters")
    finally:
        logger.removeHandler(handler)
    assert buf.getvalue() == "a warning that matters\n"
