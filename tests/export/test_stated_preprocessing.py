"""A user model's preprocessing is stated, never assumed (issue 23, item 1).

A model from the user's code (--model-file, a live module, a .pt2, a pickled module) does not say
how its images were normalized; seedge used to record ImageNet mean/std for it without a word, and
the device then answered differently from the user's own pipeline. Now the export needs
--mean/--std or --preprocessing PRESET (the API: preprocessing={...}, every key optional), and
the manifest records where the normalization came from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import seedge
from _user_models import INPUT_SIZES, user_model
from seedge.artifacts import read_manifest
from seedge.cli import main
from seedge.errors import SeedgeError

USER_MODELS = Path(__file__).resolve().parents[1] / "_user_models.py"
NAME = "ConvSENet"
COMMON = ("--formats", "onnx", "--no-pt2", "--no-count-nodes")


def run(argv, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def _weights(tmp_path: Path) -> Path:
    path = tmp_path / f"{NAME}.pth"
    torch.save(user_model(NAME).state_dict(), path)
    return path


def _image(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """An image at the model's own input size (no resize), and its pixels."""
    _, h, w = INPUT_SIZES[NAME]
    pixels = np.random.default_rng(3).integers(0, 256, (h, w, 3), dtype=np.uint8)
    path = tmp_path / "x.png"
    Image.fromarray(pixels).save(path)
    return path, pixels


def _users_pipeline(pixels: np.ndarray) -> np.ndarray:
    """What the user's code gives: ToTensor() only (scale to [0, 1]), the eager model, softmax."""
    x = torch.from_numpy(pixels).permute(2, 0, 1).float().div(255.0)[None]
    with torch.no_grad():
        return torch.softmax(user_model(NAME)(x), dim=1).numpy()[0]


def _device_probabilities(folder: Path, image: Path) -> np.ndarray:
    from seedge.runtime import Model

    with Model.open(folder) as m:
        logits = m.predict([str(image)]).astype(np.float64)[0]
    z = np.exp(logits - logits.max())
    return z / z.sum()


@pytest.mark.parametrize("statement", [("--preprocessing", "unit"), ("--mean", "0", "--std", "1")])
def test_stated_unit_normalization_answers_as_the_users_pipeline(statement, tmp_path, capsys):
    image, pixels = _image(tmp_path)
    _, h, w = INPUT_SIZES[NAME]
    code, _, err = run(["export", _weights(tmp_path), "--model-file", f"{USER_MODELS}:{NAME}", "--img-size",
                        f"{h}x{w}", *statement, *COMMON, "--out", tmp_path / "out"], capsys)
    assert code == 0, err
    folder = tmp_path / "out" / NAME
    pre = read_manifest(folder)["preprocessing"]
    assert (pre["mean"], pre["std"]) == ([0.0] * 3, [1.0] * 3)
    assert pre["source"] == ("preset unit" if statement[0] == "--preprocessing" else "stated")
    want = _users_pipeline(pixels)
    got = _device_probabilities(folder, image)
    assert np.abs(got - want).max() <= 1e-4, (got, want)


def test_a_user_model_without_stated_normalization_is_refused_in_one_line(tmp_path, capsys):
    code, _, err = run(["export", _weights(tmp_path), "--model-file", f"{USER_MODELS}:{NAME}", *COMMON,
                        "--out", tmp_path / "out"], capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, err
    assert "--mean/--std" in lines[0] and "--preprocessing imagenet" in lines[0]
    assert not (tmp_path / "out" / NAME).exists()


def test_api_live_module_without_stated_normalization_is_refused(tmp_path):
    with pytest.raises(SeedgeError, match="--mean/--std"):
        seedge.export(user_model(NAME), input_size=INPUT_SIZES[NAME], out=tmp_path, formats="onnx")


def test_api_preprocessing_with_mean_and_std_only(tmp_path):
    image, pixels = _image(tmp_path)
    folder = seedge.export(user_model(NAME), input_size=INPUT_SIZES[NAME], out=tmp_path / "out", formats="onnx",
                           pt2=False, count_nodes=False, preprocessing={"mean": [0, 0, 0], "std": [1, 1, 1]})
    pre = read_manifest(folder)["preprocessing"]
    assert pre["input_size"] == list(INPUT_SIZES[NAME]) and pre["source"] == "stated"
    assert np.abs(_device_probabilities(folder, image) - _users_pipeline(pixels)).max() <= 1e-4


def test_api_preprocessing_preset_and_one_number_for_every_channel(tmp_path):
    folder = seedge.export(user_model(NAME), input_size=INPUT_SIZES[NAME], out=tmp_path / "out", formats="onnx",
                           pt2=False, count_nodes=False, preprocessing={"preset": "imagenet", "std": 0.5})
    pre = read_manifest(folder)["preprocessing"]
    assert pre["mean"] == pytest.approx([0.485, 0.456, 0.406]) and pre["std"] == [0.5] * 3
    assert pre["source"] == "preset imagenet, stated"


@pytest.mark.parametrize(("argv", "message"), [
    (("--mean", "0,0", "--std", "1"), "--mean 0,0: give 3 numbers"),
    (("--mean", "0"), "--mean without --std"),
    (("--std", "1,0,1"), "--std 1,0,1: a std of 0"),
    (("--mean", "x"), "--mean x: give"),
    (("--preprocessing", "nope"), "'nope' is not one of 'imagenet', 'unit', 'half'"),
])
def test_bad_statements_are_one_line(argv, message, tmp_path, capsys):
    code, _, err = run(["export", _weights(tmp_path), "--model-file", f"{USER_MODELS}:{NAME}", *argv, *COMMON,
                        "--out", tmp_path / "out"], capsys)
    assert code == 2 and message in err, err


@pytest.mark.slow  # end-to-end export/CLI run: keeps the fast default under 3 min
def test_zoo_and_training_runs_need_no_statement(tmp_path, capsys):
    code, _, err = run(["export", "--model", "se_resnet18_cifar", "--random-weights", *COMMON,
                        "--out", tmp_path / "out"], capsys)
    assert code == 0, err
    pre = read_manifest(tmp_path / "out" / "se_resnet18_cifar")["preprocessing"]
    assert pre["source"] == "model config"


@pytest.mark.slow  # one epoch of a 245x457 user network
def test_train_recipe_seed000_trains_a_user_model_at_245x457(tmp_path, capsys):
    run_dir = tmp_path / "run"
    code, _, err = run(["train", "--model-file", f"{USER_MODELS}:SeedStyleNet", "--data", "shapes:245x457,n=24",
                        "--recipe", "seed000", "--epochs", "1", "--batch-size", "8", "--out", run_dir], capsys)
    assert code == 0, err
    import json

    meta = json.loads((run_dir / "model.json").read_text())
    assert meta["preprocess"]["input_size"] == [3, 245, 457]
    assert (meta["preprocess"]["mean"], meta["preprocess"]["std"]) == ([0.0] * 3, [1.0] * 3)
    assert meta["preprocess"]["source"] == "recipe seed000"


def test_evaluate_a_user_model_needs_its_normalization_stated(tmp_path, capsys):
    from seedge.data.shapes import SHAPES

    weights = _weights(tmp_path)
    common = ["evaluate", weights, "--model-file", f"{USER_MODELS}:{NAME}", "--data", "shapes:32x32,n=30,classes=3",
              "--class-names", ",".join(SHAPES[:3]), "--out", tmp_path / "ev", "--json"]
    code, _, err = run(common, capsys)
    assert code == 2 and "--mean/--std" in err and len(err.strip().splitlines()) == 1, err
    code, out, err = run([*common, "--mean", "0", "--std", "1"], capsys)
    assert code == 0, err


def test_inspect_shows_a_user_models_normalization_unstated_until_stated(tmp_path, capsys):
    weights = _weights(tmp_path)
    base = ["inspect", weights, "--model-file", f"{USER_MODELS}:{NAME}"]
    code, out, err = run(base, capsys)
    assert code == 0, err
    assert "normalization not stated: export needs --mean/--std or --preprocessing" in out
    code, out, err = run([*base, "--preprocessing", "unit", "--json"], capsys)
    assert code == 0, err
    import json

    pre = json.loads(out)["preprocess"]
    assert (pre["mean"], pre["std"], pre["source"]) == ([0.0] * 3, [1.0] * 3, "preset unit")


@pytest.mark.parametrize(("value", "message"), [
    ({"mean": 0, "std": 1, "scale": 1.0}, "scales pixels by 1/255"),
    ({"mean": 0, "std": 1, "norm": "x"}, "unknown key norm"),
    ({"preset": "nope"}, "unknown preprocessing preset 'nope'"),
    ([0, 1], "give a dict"),
])
def test_api_statements_that_cannot_be_honoured_are_one_line(value, message, tmp_path):
    with pytest.raises(SeedgeError, match=message):
        seedge.export(user_model(NAME), input_size=INPUT_SIZES[NAME], out=tmp_path, formats="onnx",
                      preprocessing=value)
    assert not (tmp_path / NAME).exists()


def test_api_preset_by_name(tmp_path):
    folder = seedge.export(user_model(NAME), input_size=INPUT_SIZES[NAME], out=tmp_path / "out", formats="onnx",
                           pt2=False, count_nodes=False, preprocessing="half")
    pre = read_manifest(folder)["preprocessing"]
    assert (pre["mean"], pre["std"], pre["source"]) == ([0.5] * 3, [0.5] * 3, "preset half")
