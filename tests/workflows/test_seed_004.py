"""Seed 004, SE-ResNet18 on CIFAR-size input against the plain ResNet18 it is compared with: both
trained with the seed's recipe (crop + flip), TensorBoard logging, both exported, and one
`seedge bench A B` run that times the two models, eager and exported, side by side."""

from __future__ import annotations

import pytest

from _workflow_fixtures import read_json, seedge, seedge_json

DATA = "shapes:32x32,n=80,classes=4"


@pytest.mark.slow  # two trainings, two exports and a bench run
def test_seed_004_workflow(tmp_path, capsys):
    folders = []
    for arch in ("se_resnet18_cifar", "resnet18_cifar"):
        run = tmp_path / "runs" / arch
        _, err = seedge_json(capsys, "train", "--model", arch, "--data", DATA, "--recipe", "seed004", "--epochs", "1",
                             "--batch-size", "16", "--out", run, "--tensorboard", tmp_path / "tb" / arch)
        recipe = read_json(run / "history.json")["recipe"]
        assert (recipe["augment"], recipe["scheduler"], recipe["img_size"]) == ("cifar", "cosine", [32, 32])
        assert "tensorboard:" in err
        seedge_json(capsys, "export", run, "--formats", "onnx", "--no-pt2", "--no-count-nodes",
                    "--out", tmp_path / "exported")
        folders.append(tmp_path / "exported" / arch)
    se, plain = (read_json(f / "manifest.json")["model"] for f in folders)
    assert se["params"] - plain["params"] == 89_080  # the SE blocks, nothing else

    doc, _ = seedge_json(capsys, "bench", *folders, "--backend", "onnxruntime", "--warmup", "1", "--iters", "4",
                         "--rounds", "2")
    rows = {(r["folder"], r["artifact"]) for r in doc["results"]}
    assert rows == {(str(f), a) for f in folders for a in ("eager", "onnx-fp32")}
    assert [f["model"] for f in doc["settings"]["folders"]] == ["se_resnet18_cifar", "resnet18_cifar"]
    for r in doc["results"]:  # each folder against its own eager model
        if r["artifact"] == "eager":
            assert r["speedup_vs_eager"] == 1.0
    out, _ = seedge(capsys, "bench", *folders, "--backend", "onnxruntime", "--warmup", "0", "--iters", "2",
                    "--rounds", "1")
    assert "se_resnet18_cifar vs resnet18_cifar" in out and "folder" in out
