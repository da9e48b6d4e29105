"""Issue 22, cases 5 and 9: a folder whose manifest promises fewer classes than its artifact gives
is refused by every reader (never a label past the class list), and the runtime API refuses what
means nothing (an empty image, a top_k that is no count, a non-finite answer) in one SeedgeError line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _export_fixtures import export_folder, fresh_copy
from _hostile import one_line

from seedge import artifacts
from seedge.errors import SeedgeError
from seedge.runtime import Model


@pytest.fixture(scope="module")
def three_classes(tmp_path_factory) -> Path:
    """The 10-output tiny export whose manifest says num_classes 3, names a, b, c."""
    folder = fresh_copy(tmp_path_factory.mktemp("three"))
    m = artifacts.read_manifest(folder)
    m["model"]["num_classes"], m["model"]["class_names"] = 3, ["a", "b", "c"]
    artifacts.write_manifest(folder, m)
    return folder


@pytest.mark.parametrize("art", ["onnx-fp32", "openvino-fp32"])
def test_model_open_refuses_an_artifact_wider_than_the_class_list(three_classes, art):
    with pytest.raises(SeedgeError) as e:
        Model.open(three_classes, artifact=art, threads=1)
    text = str(e.value)
    assert art in text and "10 outputs" in text and "3 classes" in text and "\n" not in text, text


def test_each_call_checks_the_width_where_the_file_states_none():
    from seedge.verify.shapes import check_width

    assert check_width(np.zeros((2, 3), np.float32), 3, "artifact 'x'").shape == (2, 3)
    for bad in (np.zeros((2, 10)), np.zeros((2, 3, 1)), np.zeros(3)):
        with pytest.raises(SeedgeError, match="artifact 'x': gives .* outputs per image but the manifest names 3"):
            check_width(bad, 3, "artifact 'x'")


def test_predict_cli_refuses_an_artifact_wider_than_the_class_list(three_classes, tmp_path, cli):
    from PIL import Image

    image = tmp_path / "x.png"
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(image)
    code, out, err = cli("predict", three_classes, image, "--top-k", "5")
    assert code == 2 and out == ""
    one_line(err, "10 outputs", "3 classes")


def test_verify_refuses_an_artifact_wider_than_the_class_list(three_classes, cli):
    code, out, err = cli("verify", three_classes)
    assert code == 2, (out, err)
    one_line(err, "10 outputs", "3 classes")


def test_bench_refuses_an_artifact_wider_than_the_class_list(three_classes, cli):
    code, out, err = cli("bench", three_classes, "--backend", "onnxruntime", "--batch", "1", "--iters", "3",
                         "--rounds", "1", "--warmup", "1")
    assert code == 2, (out, err)
    one_line(err, "10 outputs", "3 classes")


@pytest.fixture(scope="module")
def model():
    with Model.open(export_folder(), artifact="onnx-fp32", threads=1) as m:
        yield m


@pytest.mark.parametrize("image", [np.zeros((0, 0), np.uint8), np.zeros((0, 0, 3), np.uint8),
                                   np.zeros((0, 5, 3), np.uint8)])
def test_an_empty_image_is_refused(model, image):
    with pytest.raises(SeedgeError) as e:
        model.classify(image)
    assert "empty" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("k", ["a", None, 1.5, 0, -1, True])
def test_top_k_that_is_no_positive_count_is_a_seedge_error(model, k):
    with pytest.raises(SeedgeError) as e:
        model.classify(np.zeros((32, 32, 3), np.uint8), top_k=k)
    assert "top_k" in str(e.value) and "\n" not in str(e.value)


def test_a_non_finite_answer_to_a_finite_input_is_refused(model):
    x = np.full((1, 3, 32, 32), 3e38, np.float32)
    assert np.isfinite(x).all()
    with pytest.raises(SeedgeError) as e:
        model.classify(x)
    assert "non-finite" in str(e.value) and "onnx-fp32" in str(e.value) and "\n" not in str(e.value)
