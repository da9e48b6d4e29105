"""The device runtime's inputs: only finite float NCHW tensors of the model's shape, or images,
reach an artifact; anything else is one SeedgeError saying what it got. Big batches run in
chunks (a 20,000-image batch is never handed to a runner whole)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _export_fixtures import export_folder

from seedge import artifacts
from seedge.errors import SeedgeError
from seedge.runtime import Model


@pytest.fixture(scope="module")
def folder() -> Path:
    return export_folder()


@pytest.fixture(scope="module")
def x(folder) -> np.ndarray:
    return np.load(folder / artifacts.REFERENCE)["input"]


@pytest.fixture(params=["onnx-fp32", "openvino-fp32"])
def model(request, folder):
    with Model.open(folder, artifact=request.param, threads=1) as m:
        yield m


def _with(x: np.ndarray, value: float) -> np.ndarray:
    bad = x[:3].copy()
    bad[1, 2, 3, 4] = value
    return bad


@pytest.mark.parametrize("make, words", [
    (lambda x: _with(x, np.nan), "1 NaN/Inf values"),
    (lambda x: _with(x, np.inf), "1 NaN/Inf values"),
    (lambda x: _with(x, -np.inf), "1 NaN/Inf values"),
    (lambda x: np.full_like(x[:2], np.nan), f"{2 * 3 * 32 * 32} NaN/Inf values"),
    (lambda x: x[:1].astype(np.int32), "dtype int32"),
    (lambda x: x[:1] > 0, "dtype bool"),
    (lambda x: x[:1].astype(np.complex64), "dtype complex64"),
    (lambda x: np.zeros((1, 3, 32, 32), np.uint8), "dtype uint8"),
    (lambda x: np.array([[1, "a"]], dtype=object), "dtype object"),
    (lambda x: x[:1, :2], "is not (N, 3, 32, 32)"),            # channels
    (lambda x: x[:1, :, :16], "is not (N, 3, 32, 32)"),         # size
    (lambda x: x[:1, None], "is not (N, 3, 32, 32)"),           # rank 5
    (lambda x: x[0, 0], "not (N, 3, 32, 32)"),                  # rank 2 float: not an image either
    (lambda x: x[:0], "is not (N, 3, 32, 32)"),                 # no rows
    (lambda x: np.zeros((8, 8, 2), np.uint8), "not HxW or HxWxC"),  # an image with 2 channels
    (lambda x: 3.5, "not an image"),
    (lambda x: "", "image file not found"),
])
def test_a_refused_input_never_reaches_the_artifact(make, words, model, x):
    calls = []
    real = model._runner.infer
    model._runner.infer = lambda feed: calls.append(feed) or real(feed)
    with pytest.raises(SeedgeError) as e:
        model.predict(make(x))
    assert words in str(e.value) and "\n" not in str(e.value)
    assert calls == []


def test_an_all_nan_image_gets_no_confident_class(model, x):
    with pytest.raises(SeedgeError, match="NaN/Inf"):
        model.classify(np.full_like(x[0], np.nan))


def test_a_big_batch_runs_in_chunks_and_equals_the_rows_one_by_one(model, x):
    big = np.concatenate([x] * (1 + 300 // len(x)))[:300]
    sizes = []
    real = model._runner.infer
    model._runner.infer = lambda feed: sizes.append(len(next(iter(feed.values())))) or real(feed)
    logits = model.predict(big)
    assert logits.shape == (300, 10)
    assert max(sizes) <= 64 and sum(sizes) == 300
    np.testing.assert_allclose(logits[::37], np.concatenate([model.predict(r) for r in big[::37]]),
                               atol=1e-4, rtol=0)


def test_float16_and_float64_tensors_are_read_as_float32(model, x):
    want = model.predict(x[:2])
    np.testing.assert_allclose(model.predict(x[:2].astype(np.float64)), want, atol=1e-5, rtol=0)
    np.testing.assert_allclose(model.predict(x[:2].astype(np.float16)), want, atol=5e-2, rtol=0)
