"""Seed 001, SE-ResNet at every depth (Hu et al.): the paper's parameter counts, SE blocks per depth,
SE's small compute cost over the plain ResNet, and one depth trained, evaluated and exported."""

from __future__ import annotations

import pytest

from _workflow_fixtures import read_json, seedge, seedge_json

# SE-ResNet-50/101/152 in the SENet paper (Table 2): 28.1M, 49.3M, 66.8M parameters; one SE block
# per residual block: 2+2+2+2, 3+4+6+3, 3+4+6+3, 3+4+23+3, 3+8+36+3.
DEPTHS = {"se_resnet18": (11.78e6, 8), "se_resnet34": (21.96e6, 16), "se_resnet50": (28.09e6, 16),
          "se_resnet101": (49.33e6, 33), "se_resnet152": (66.82e6, 50)}


@pytest.mark.slow  # five model builds and FLOP counts
def test_depths_parameters_se_blocks_and_flops(capsys):
    for arch, (params, blocks) in DEPTHS.items():
        doc, _ = seedge_json(capsys, "inspect", arch)
        assert doc["parameters"] == pytest.approx(params, rel=2e-3), arch
        assert doc["se_blocks"] == blocks and doc["input_size"] == [3, 224, 224]
    se, _ = seedge_json(capsys, "inspect", "se_resnet50")
    plain, _ = seedge_json(capsys, "inspect", "resnet50")
    assert plain["se_blocks"] == 0 and 1.0 < se["gmacs"] / plain["gmacs"] < 1.01  # SE: +0.26% in the paper
    out, _ = seedge(capsys, "inspect", "se_resnet50")
    assert "28.09M" in out and "GFLOPs" in out and "SE blocks   16" in out


@pytest.mark.slow  # training and exporting one depth
def test_one_depth_end_to_end(tmp_path, capsys):
    run = tmp_path / "run"
    seedge_json(capsys, "train", "--model", "se_resnet18", "--data", "shapes:48x48,n=60,classes=3", "--img-size",
                "48", "--epochs", "1", "--batch-size", "16", "--recipe", "seed001", "--out", run)
    recipe = read_json(run / "history.json")["recipe"]
    assert (recipe["optimizer"], recipe["scheduler"], recipe["step_size"]) == ("sgd", "step", 30)
    ev, _ = seedge_json(capsys, "evaluate", run)
    assert ev["samples"] == 12 and "f1_weighted" in ev
    export, _ = seedge_json(capsys, "export", run, "--formats", "onnx", "--no-pt2", "--no-count-nodes",
                            "--out", tmp_path / "exported")
    assert export["artifacts"][0]["parity"]["passed"]
