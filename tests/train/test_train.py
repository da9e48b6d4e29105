"""Training: a short real run, reproducibility, fine-tuning, early stopping, CLI bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from _data_fixtures import make_csv, make_imagefolder, write_images
from seedge.checkpoint import load_model
from seedge.cli import main
from seedge.errors import SeedgeError
from seedge.train import TrainOptions, train
from seedge.train.distributed import state_hash
from seedge.train.recipes import EarlyStopping

ARCH = "se_resnet10_cifar_tiny"
QUICK = dict(model=ARCH, img_size=(16, 16), batch_size=32, threads=1, progress=False, patience=0)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "digits"
    summary = train(TrainOptions(data="digits", out=str(out), epochs=3, limit=256, lr=3e-3, augment="none",
                                 **QUICK))
    return out, summary


def test_short_run_lowers_loss_and_saves_best_checkpoint(digits_run):
    out, summary = digits_run
    history = json.loads((out / "history.json").read_text())
    losses = [e["train_loss"] for e in history["epochs"]]
    assert len(losses) == 3 and losses[-1] < 0.8 * losses[0], losses
    assert history["recipe"]["optimizer"] == "adam" and history["recipe"]["step_size"] == 7
    meta = json.loads((out / "model.json").read_text())
    assert meta["arch"] == ARCH and meta["class_names"] == [str(i) for i in range(10)]
    assert meta["preprocess"]["input_size"] == [3, 16, 16]
    assert meta["training"]["data"] == "digits" and meta["training"]["best_epoch"] == summary["best_epoch"]
    best = history["epochs"][summary["best_epoch"] - 1]
    assert best["val_loss"] == min(e["val_loss"] for e in history["epochs"])
    # the saved weights are the best epoch's: re-evaluating them reproduces the recorded test accuracy
    model, info = load_model(out)
    from seedge.data import load_arrays

    x, y, _ = load_arrays("digits", info["preprocess"], "test", limit=256, seed=0)
    with torch.no_grad():
        acc = float((model(torch.from_numpy(x)).argmax(1).numpy() == y).mean())
    assert acc == pytest.approx(summary["test"]["accuracy"], abs=1e-9)
    assert acc > 0.3  # 10 classes: well above chance after 3 short epochs


def test_same_seed_same_weights(tmp_path):
    opts = dict(data="shapes:16x16,n=40,classes=2", epochs=1, augment="crop", seed=7, **QUICK)
    train(TrainOptions(out=str(tmp_path / "a"), **opts))
    train(TrainOptions(out=str(tmp_path / "b"), **opts))
    train(TrainOptions(out=str(tmp_path / "c"), **{**opts, "seed": 8}))
    h = [state_hash(load_model(tmp_path / k)[0]) for k in "abc"]
    assert h[0] == h[1] and h[0] != h[2]


def test_last_batch_of_one_is_dropped(tmp_path):
    # 28 training images, batch 27: a 1-image batch would break BatchNorm in train mode
    s = train(TrainOptions(data="shapes:16x16,n=40,classes=2", out=str(tmp_path / "r"), epochs=1,
                           **{**QUICK, "batch_size": 27}))
    assert s["epochs_run"] == 1 and np.isfinite(s["best"]["train_loss"])


def test_finetune_replaces_the_head_and_keeps_the_backbone(digits_run, tmp_path):
    src, _ = digits_run
    summary = train(TrainOptions(data="shapes:16x16,n=30,classes=3", out=str(tmp_path / "ft"), epochs=1,
                                 init=str(src), lr=1e-12, augment="none",
                                 **{**QUICK, "model": None}))  # arch taken from the --init checkpoint
    tuned, _ = load_model(tmp_path / "ft")
    base, _ = load_model(src)
    assert summary["arch"] == ARCH and tuned.fc.weight.shape == (3, 128)
    assert torch.allclose(tuned.conv1.weight, base.conv1.weight, atol=1e-6)
    assert torch.allclose(tuned.layer4[0].se.fc2.weight, base.layer4[0].se.fc2.weight, atol=1e-6)
    meta = json.loads((tmp_path / "ft" / "model.json").read_text())
    assert meta["training"]["init"]["head_replaced"] is True and meta["class_names"] == ["circle", "square",
                                                                                          "triangle"]
    with pytest.raises(SeedgeError, match="--init weights do not fit se_resnet18_cifar"):
        train(TrainOptions(data="shapes:16x16,n=30,classes=3", out=str(tmp_path / "bad"), init=str(src),
                           **{**QUICK, "model": "se_resnet18_cifar"}))


def test_early_stopping_logic():
    es = EarlyStopping("val_loss", patience=2)
    assert es.update(1, 1.0, 0.5) and not es.update(2, 1.1, 0.6) and not es.should_stop
    assert not es.update(3, 1.0, 0.7) and es.should_stop and es.best_epoch == 1
    acc = EarlyStopping("val_acc", patience=0)
    assert acc.update(1, 0.5, 0.9) and acc.update(2, 0.4, 0.9) and not acc.update(3, 0.1, 0.8)
    assert acc.best_epoch == 2 and not acc.should_stop  # ties on accuracy break on loss; 0 never stops


def _cli(capsys, *argv):
    with pytest.raises(SystemExit) as ex:
        main(list(argv))
    out, err = capsys.readouterr()
    return ex.value.code, out, err


def _one_error_line(err: str) -> str:
    # A "data: ..." line (which columns and split were read) may come first: it explains the error.
    lines = [l for l in err.splitlines() if l.strip() and not l.startswith("data: ")]
    assert len(lines) == 1, err
    assert lines[0].startswith("seedge: error: ")
    return lines[0]


def test_cli_train_runs(tmp_path, capsys):
    root = make_imagefolder(tmp_path / "ds", n=6, size=(16, 16))
    code, out, err = _cli(capsys, "train", "--model", ARCH, "--data", str(root), "--img-size", "16", "--epochs",
                          "1", "--threads", "1", "--out", str(tmp_path / "run"), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["class_names"] == ["circle", "square", "triangle"] and summary["epochs_run"] == 1
    assert "epoch   1/1" in err and (tmp_path / "run" / "model.safetensors").is_file()


def test_cli_bad_inputs_exit_2_with_one_line(tmp_path, capsys):
    base = ["train", "--model", ARCH, "--img-size", "16", "--epochs", "1", "--threads", "1",
            "--out", str(tmp_path / "run")]
    code, _, err = _cli(capsys, *base, "--data", str(tmp_path / "nope"))
    assert code == 2 and "nope: no such file or directory" in _one_error_line(err)

    root = make_imagefolder(tmp_path / "ds", n=4, size=(16, 16))
    (root / "empty_class").mkdir()
    code, _, err = _cli(capsys, *base, "--data", str(root))
    assert code == 2 and "empty_class: class folder holds no images" in _one_error_line(err)

    d = tmp_path / "csv"
    imgs = write_images(d, "circle", 10, (16, 16)) + write_images(d, "square", 10, (16, 16), seed=1)
    rows = [(p.name, "round" if i < 10 else "box") for i, p in enumerate(imgs)]
    make_csv(d / "missing.csv", rows + [("gone.png", "box")])
    code, _, err = _cli(capsys, *base, "--data", str(d / "missing.csv"))
    assert code == 2 and "missing.csv row 22: image gone.png not found" in _one_error_line(err)

    (d / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    make_csv(d / "corrupt.csv", rows + [("corrupt.png", "box")] * 10)
    code, _, err = _cli(capsys, *base, "--data", str(d / "corrupt.csv"))
    assert code == 2 and "corrupt.png: cannot read image" in _one_error_line(err)

    make_csv(d / "train.csv", rows)
    make_csv(d / "test.csv", [(imgs[0].name, "round"), (imgs[1].name, "oval")])
    code, _, err = _cli(capsys, *base, "--data", str(d / "train.csv"))
    assert code == 2 and "test.csv row 3: label 'oval' does not occur in the training split" in _one_error_line(err)

    make_csv(d / "good.csv", rows)
    code, _, err = _cli(capsys, *base, "--data", str(d / "good.csv"), "--classes", "round,square")
    assert code == 2 and "good.csv row 12: label 'box' does not occur in the given class list" in \
        _one_error_line(err)
    code, _, err = _cli(capsys, *base, "--data", "digits", "--classes", "0,1,2")
    assert code == 2 and "label '3' does not occur in the given class list" in _one_error_line(err)
    code, _, err = _cli(capsys, *base, "--data", "digits", "--epochs", "0")
    assert code == 2 and "--epochs must be at least 1" in _one_error_line(err)


def test_demo_cache_reuses_a_complete_folder_and_rejects_a_corrupt_one(tmp_path, monkeypatch, digits_run):
    """The cache logic without training: a complete folder is reused, bad weights are not."""
    import shutil

    from seedge.train import demo

    monkeypatch.setenv("SEEDGE_CACHE", str(tmp_path))
    folder = demo.demo_dir()
    assert folder.parent == tmp_path / "demo" and demo.DEMO_ARCH in folder.name
    shutil.copytree(digits_run[0], folder)
    assert demo.demo_checkpoint(progress=False) == folder / "model.safetensors"
    (folder / "model.safetensors").write_bytes(b"corrupt")
    assert not demo._is_complete(folder)


@pytest.mark.slow
def test_demo_model_trains_once_under_concurrency_and_reaches_97_percent(tmp_path):
    """Two processes ask for the demo model at once: one trains, both get the same file."""
    import subprocess
    import sys

    env = {**__import__("os").environ, "SEEDGE_CACHE": str(tmp_path)}
    code = "from seedge.train.demo import demo_checkpoint; print(demo_checkpoint())"
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [p.communicate(timeout=900) for p in procs]
    assert all(p.returncode == 0 for p in procs), results
    paths = {out.strip() for out, _ in results}
    assert len(paths) == 1
    assert sum("training the demo model" in err for _, err in results) == 1
    history = json.loads((__import__("pathlib").Path(paths.pop()).parent / "history.json").read_text())
    assert history["test"]["accuracy"] >= 0.97, history["test"]
