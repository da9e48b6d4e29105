"""Issue 22, case 10 (images): a float image without a finite pixel value is one SeedgeError line
naming the file, with no numpy RuntimeWarning before it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _hostile import one_line

from seedge.errors import SeedgeError
from seedge.preprocess import decode


def _float_tiff(path, values: np.ndarray):
    from PIL import Image

    Image.fromarray(values.astype(np.float32), mode="F").save(path)
    return path


@pytest.mark.parametrize("fill", [np.nan, np.inf, -np.inf])
def test_a_non_finite_float_tiff_is_refused_without_a_warning(tmp_path, fill):
    values = np.zeros((8, 8), np.float32)
    values[:] = fill
    path = _float_tiff(tmp_path / "scan.tif", values)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning fails the test
        with pytest.raises(SeedgeError) as e:
            decode(path)
    assert str(path) in str(e.value) and "NaN/Inf" in str(e.value) and "\n" not in str(e.value)


def test_one_nan_pixel_is_refused_too(tmp_path):
    values = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    values[3, 4] = np.nan
    path = _float_tiff(tmp_path / "scan.tif", values)
    with pytest.raises(SeedgeError, match="1 NaN/Inf"):
        decode(path)


def test_a_finite_float_tiff_still_decodes(tmp_path):
    values = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    img = decode(_float_tiff(tmp_path / "scan.tif", values))
    assert img.mode == "RGB" and np.asarray(img)[0, 0, 0] == 0 and np.asarray(img)[-1, -1, 0] == 255


def test_predict_on_a_nan_tiff_is_one_line(tmp_path, cli):
    from _export_fixtures import export_folder

    path = _float_tiff(tmp_path / "scan.tif", np.full((8, 8), np.nan, np.float32))
    code, out, err = cli("predict", export_folder(), path)
    assert code == 2 and out == ""
    one_line(err, str(path), "NaN/Inf")
