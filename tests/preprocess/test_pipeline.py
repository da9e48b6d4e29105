"""The one preprocessing: training's data path and the device runtime's path give the same arrays.

Real image files of every mode users bring (PNG RGB, JPEG, grayscale, RGBA, palette with and
without transparency, 16-bit, CMYK, non-square) are read the training way (seedge.data: an
ImageFolder through open_source / load_arrays, and the torch Dataset's evaluation item) and the
runtime way (seedge.preprocess.preprocess_image / preprocess_batch on the manifest's dict form),
and must agree bit for bit. A hand-written reference of the documented order pins the numbers
themselves, so a change to the shared code cannot move both sides together unnoticed.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from seedge.data import load_arrays, load_split_arrays, open_source
from seedge.data.images import read_image
from seedge.data.source import Samples
from seedge.data.torch_data import ImageDataset
from seedge.data.transforms import train_augment
from seedge.errors import SeedgeError
from seedge.preprocess import (PreprocessSpec, decode, denormalize, preprocess_batch, preprocess_image,
                               to_array, to_rgb)

SPECS = {
    "rgb": PreprocessSpec(input_size=(3, 16, 16), mean=(0.49, 0.48, 0.45), std=(0.25, 0.24, 0.26)),
    # base 27x25 -> crop 24x20: odd margins, so the floor of the offsets matters
    "bgr-resize-crop": PreprocessSpec(input_size=(3, 24, 20), resize=(27, 25), color_order="BGR",
                                      mean=(0.41, 0.46, 0.49), std=(0.22, 0.23, 0.21)),
    "gray-resize-crop": PreprocessSpec(input_size=(1, 14, 14), resize=(17, 19), mean=(0.5,), std=(0.2,)),
}


def _rgb(rng, h, w):
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def write_image_files(folder):
    """One file per mode users bring; sizes differ from every spec's input so each is resized."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    Image.fromarray(_rgb(rng, 23, 31)).save(folder / "rgb.png")
    Image.fromarray(_rgb(rng, 40, 57)).save(folder / "photo.jpg", quality=85)
    Image.fromarray(_rgb(rng, 30, 30)[..., 0]).save(folder / "gray_L.png")
    Image.fromarray(rng.integers(0, 256, (19, 33, 4), dtype=np.uint8)).save(folder / "rgba.png")
    Image.fromarray(_rgb(rng, 25, 21)).convert("P", palette=Image.ADAPTIVE).save(folder / "palette.png")
    Image.fromarray(_rgb(rng, 25, 21)).convert("P", palette=Image.ADAPTIVE).save(
        folder / "palette_transparent.png", transparency=3)
    Image.fromarray(np.linspace(0, 65535, 20 * 30).reshape(20, 30).astype(np.uint16)).save(folder / "scan16.png")
    Image.fromarray(_rgb(rng, 32, 32)).convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray(_rgb(rng, 48, 80)).save(folder / "wide.png")  # non-square: resize then crop
    return sorted(folder.iterdir())


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """An ImageFolder (two classes holding the same files) and its file list."""
    root = tmp_path_factory.mktemp("imagefolder")
    files = write_image_files(root / "a")
    write_image_files(root / "b")
    return root, files


def test_files_hold_every_mode(image_folder):
    _, files = image_folder
    modes = set()
    for f in files:
        with Image.open(f) as im:
            modes.add(im.mode)
    assert {"RGB", "L", "RGBA", "P", "I;16", "CMYK"} <= modes


@pytest.mark.parametrize("name", SPECS)
def test_training_data_path_equals_runtime_path(image_folder, name):
    root, files = image_folder
    spec = SPECS[name]
    manifest_form = spec.to_dict()  # what the runtime reads from manifest["preprocessing"]
    src = open_source(str(root))
    seen = set()
    for part in ("train", "val", "test"):
        samples = src.split(part)
        x, y, _ = load_arrays(str(root), spec, split=part)  # export, calibration, verify
        runtime = preprocess_batch(samples.items, manifest_form)
        assert x.shape == (len(samples), *spec.input_size) and x.dtype == runtime.dtype == np.float32
        assert np.array_equal(x, runtime), f"{name}/{part}: load_arrays differs from the runtime"
        ds = ImageDataset(samples, spec)  # training's evaluation items (no augmentation)
        for i in range(len(ds)):
            item, label = ds[i]
            one = preprocess_image(samples.items[i], manifest_form)
            assert np.array_equal(item.numpy(), one), f"{name}: {samples.items[i].name} differs"
            assert label == y[i]
        seen |= {p.name for p in samples.items}
    assert seen == {f.name for f in files}  # every mode went through both paths


def test_augmented_training_item_ends_in_the_same_array_step(image_folder):
    """With an augmentation that changes nothing, a training item is the evaluation item."""
    root, _ = image_folder
    spec = SPECS["rgb"]
    samples = open_source(str(root)).split("train")
    ds = ImageDataset(samples, spec, augment=train_augment("none", spec))
    for i in range(len(ds)):
        assert np.array_equal(ds[i][0].numpy(), preprocess_image(samples.items[i], spec))


def _reference(path, spec: PreprocessSpec) -> np.ndarray:
    """The documented order written out with Pillow and numpy, independent of seedge's code."""
    with Image.open(path) as im:
        im.load()
        if im.mode == "I;16":  # 16-bit: 0..65535 rescaled to 0..255, rounded
            a = np.asarray(im, dtype=np.float64)
            im = Image.fromarray(np.floor(a / 65535.0 * 255.0 + 0.5).astype(np.uint8))
        rgb = im.convert("RGBA").convert("RGB") if im.mode == "P" else im.convert("RGB")
    c, h, w = spec.input_size
    bh, bw = spec.resize or (h, w)
    if rgb.size != (bw, bh):
        rgb = rgb.resize((bw, bh), Image.BILINEAR)
    if c == 1:
        rgb = rgb.convert("L")
    top, left = (bh - h) // 2, (bw - w) // 2
    x = np.asarray(rgb.crop((left, top, left + w, top + h)), dtype=np.uint8).astype(np.float32)
    x = x.reshape(h, w, c) * np.float32(spec.scale)
    if spec.color_order == "BGR":
        x = x[..., ::-1]
    x = (x - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


@pytest.mark.parametrize("name", SPECS)
def test_pipeline_follows_the_documented_order_exactly(image_folder, name):
    _, files = image_folder
    for f in files:
        assert np.array_equal(preprocess_image(f, SPECS[name]), _reference(f, SPECS[name])), f.name


def _training_eval(items, spec) -> np.ndarray:
    """Items as a data source lists them, through both training-side consumers (which must agree)."""
    samples = Samples(list(items), np.zeros(len(items), np.int64), [f"item {i}" for i in range(len(items))])
    arrays = load_split_arrays(samples, spec)
    ds = ImageDataset(samples, spec)
    assert np.array_equal(arrays, np.stack([ds[i][0].numpy() for i in range(len(ds))]))
    return arrays


def test_preprocess_matches_training_side():
    """Device and training must feed the network the same numbers (arrays, as `digits` lists them;
    some already at the input size take the runtime's Pillow-free path)."""
    rng = np.random.default_rng(4)
    cases = [_rgb(rng, 37, 29), rng.integers(0, 256, (8, 8), dtype=np.uint8),
             _rgb(rng, 32, 32), rng.integers(0, 256, (21, 23, 4), dtype=np.uint8),
             _rgb(rng, 16, 16), rng.integers(0, 256, (16, 16), dtype=np.uint8),
             rng.integers(0, 256, (16, 16, 4), dtype=np.uint8)]
    specs = [PreprocessSpec(input_size=(3, 32, 32), mean=(0.49, 0.48, 0.45), std=(0.25, 0.24, 0.26)),
             PreprocessSpec(input_size=(3, 24, 20), resize=(27, 25), color_order="BGR"),
             PreprocessSpec(input_size=(1, 16, 16), mean=(0.5,), std=(0.2,)),
             PreprocessSpec(input_size=(3, 16, 16), color_order="BGR")]
    for spec in specs:
        want = [_training_eval([img], spec)[0] for img in cases]
        for img, w in zip(cases, want):
            np.testing.assert_array_equal(preprocess_image(img, spec.to_dict()), w)
            np.testing.assert_array_equal(preprocess_image(Image.fromarray(img), spec), w)


def test_preprocess_16bit_file_matches_training_side(tmp_path):
    path = tmp_path / "scan.png"
    Image.fromarray(np.linspace(0, 65535, 20 * 30).reshape(20, 30).astype(np.uint16)).save(path)
    spec = PreprocessSpec(input_size=(1, 16, 16), mean=(0.5,), std=(0.2,))
    np.testing.assert_array_equal(preprocess_image(path, spec), _training_eval([path], spec)[0])


@pytest.mark.parametrize("spec", [
    PreprocessSpec(input_size=(3, 12, 10), mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),
    PreprocessSpec(input_size=(3, 12, 10), color_order="BGR", mean=(0.1, 0.5, 0.9), std=(0.3, 0.2, 0.1)),
    PreprocessSpec(input_size=(1, 12, 10), mean=(0.45,), std=(0.27,)),
    PreprocessSpec(input_size=(3, 12, 10), scale=1.0, mean=(123.7, 116.3, 103.5), std=(58.4, 57.1, 57.4)),
], ids=["rgb", "bgr", "gray", "scale-1"])
def test_denormalize_inverts_preprocessing(spec):
    rng = np.random.default_rng(11)
    img = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    shown = denormalize(preprocess_image(img, spec), spec)
    want = img if spec.input_size[0] == 3 else np.asarray(Image.fromarray(img).convert("L"))[..., None].repeat(3, 2)
    assert shown.shape == (12, 10, 3) and shown.min() >= 0.0 and shown.max() <= 1.0
    np.testing.assert_allclose(shown, want / 255.0, atol=1e-5)  # RGB order again, whatever the model's


def test_denormalize_clips_to_the_display_range():
    spec = PreprocessSpec(input_size=(3, 2, 2), mean=(0.5,) * 3, std=(0.5,) * 3)
    x = np.full((3, 2, 2), 5.0, np.float32)
    assert np.array_equal(denormalize(x, spec), np.ones((2, 2, 3), np.float32))
    assert np.array_equal(denormalize(-x, spec), np.zeros((2, 2, 3), np.float32))


def test_rgb_conversion_modes():
    rgba = Image.new("RGBA", (4, 4), (10, 20, 30, 0))
    assert to_rgb(rgba).mode == "RGB" and to_rgb(rgba).getpixel((0, 0)) == (10, 20, 30)
    g16 = Image.fromarray(np.full((4, 4), 65535, np.uint16))
    assert to_rgb(g16).getpixel((1, 1)) == (255, 255, 255)
    assert to_rgb(Image.new("L", (4, 4), 7)).getpixel((0, 0)) == (7, 7, 7)
    unit = Image.fromarray(np.array([[0.0, 0.5, 1.0]], np.float32))  # a [0, 1] float image keeps its scale
    assert [to_rgb(unit).getpixel((i, 0))[0] for i in range(3)] == [0, 128, 255]
    wide = Image.fromarray(np.array([[0.5, 2.5]], np.float32))  # beyond 1: its maximum becomes 255
    assert [to_rgb(wide).getpixel((i, 0))[0] for i in range(2)] == [51, 255]


def test_preprocess_resize_crop_and_bgr():
    img = Image.fromarray(np.dstack([np.full((40, 60), v, np.uint8) for v in (255, 0, 0)]))
    spec = PreprocessSpec(input_size=(3, 16, 16), resize=(20, 24), mean=(0.0,) * 3, std=(1.0,) * 3)
    x = preprocess_image(img, spec)
    assert x.shape == (3, 16, 16) and np.allclose(x[0], 1.0) and np.allclose(x[2], 0.0)
    bgr = PreprocessSpec(input_size=(3, 16, 16), mean=(0.0,) * 3, std=(1.0,) * 3, color_order="BGR")
    assert np.allclose(preprocess_image(img, bgr)[2], 1.0)


def test_decode_errors_name_the_file_and_where_it_was_listed(tmp_path):
    with pytest.raises(SeedgeError, match=r"missing.png: image file not found \(listed in data.csv row 3\)"):
        read_image(tmp_path / "missing.png", "data.csv row 3")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(SeedgeError, match=r"bad.png: cannot read image .*\(listed in cls/\)"):
        decode(bad, "cls/")
    with pytest.raises(SeedgeError, match="image array of shape"):
        decode(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(SeedgeError, match="cannot read an image from a value of type int"):
        decode(3)
    with pytest.raises(SeedgeError, match="image has 3 channels, the model takes 1"):
        to_array(np.zeros((4, 4, 3), np.uint8), PreprocessSpec(input_size=(1, 4, 4), mean=(0.5,), std=(0.5,)))
