"""The Python API raises only SeedgeError (with a .hint) for bad arguments and library errors, and
third-party warnings stay out of the user's program unless SEEDGE_DEBUG (issue 23 item 9)."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest
from _export_fixtures import export_folder

import seedge
from seedge.errors import SeedgeError, api_boundary
from seedge.runtime import Model


@pytest.fixture(scope="module")
def model():
    with Model.open(export_folder(), artifact="onnx-fp32", threads=1) as m:
        yield m


def test_bad_arguments_to_the_runtime_are_seedge_errors_with_a_hint(model):
    with pytest.raises(SeedgeError) as e:
        model.classify(np.zeros((32, 32, 3), np.uint8), 3, "extra")  # TypeError inside: raw before
    assert e.value.hint and "Model.classify" in str(e.value)
    with pytest.raises(SeedgeError) as e:
        model.classify(np.zeros((32, 32, 3), np.uint8), top_k="three")  # seedge's own check: has a hint too
    assert e.value.hint
    with pytest.raises(SeedgeError) as e:
        Model.open(export_folder(), no_such_option=1)
    assert "Model.open" in str(e.value) and e.value.hint


def test_a_wrong_input_shape_is_a_seedge_error(model):
    with pytest.raises(SeedgeError) as e:
        model.predict(np.zeros((2, 3, 17, 5, 1), np.float32))
    assert e.value.hint


def test_bad_arguments_to_export_are_seedge_errors(tmp_path):
    import torch

    with pytest.raises(SeedgeError) as e:
        seedge.export(torch.nn.Linear(2, 2), input_size=object(), out=tmp_path / "out")
    assert e.value.hint


def test_third_party_warnings_and_log_noise_do_not_reach_the_user(capsys, monkeypatch):
    monkeypatch.delenv("SEEDGE_DEBUG", raising=False)

    @api_boundary("demo")
    def noisy():
        logging.getLogger("torch.utils.cpp_extension").warning("No CUDA runtime is found, using CUDA_HOME='/x'")
        warnings.warn_explicit("a library's notice", UserWarning, "lib.py", 1, module="somelib")
        return 7

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert noisy() == 7
    assert not seen and "No CUDA runtime" not in capsys.readouterr().err


def test_seedge_debug_lets_the_original_error_through(model, monkeypatch):
    monkeypatch.setenv("SEEDGE_DEBUG", "1")
    with pytest.raises(TypeError):
        model.classify(np.zeros((32, 32, 3), np.uint8), 3, "extra")


def test_a_library_error_becomes_one_line_without_terminal_colours():
    @api_boundary("demo")
    def fails():
        raise RuntimeError("\x1b[31mFailed to export the model\x1b[0m with torch.export\nsecond line")

    with pytest.raises(SeedgeError) as e:
        fails()
    assert str(e.value).startswith("demo: RuntimeError: Failed to export the model with torch.export;")
    assert "\x1b" not in str(e.value) and "\n" not in str(e.value) and e.value.hint
