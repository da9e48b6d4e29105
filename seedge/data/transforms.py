"""Image -> network input, and the training augmentations.

Evaluation preprocessing is numpy + PIL only and follows the stored PreprocessSpec
exactly: resize to `resize` (or straight to the input size), center crop to the input
size, scale, channel order, (x - mean) / std, CHW float32. Training first brings each
image to the same base size, augments it (torchvision, imported lazily), then applies
the identical array conversion, so train and export see the same numbers.

Augmentation presets (`--augment`):
  none    no augmentation
  crop    random crop with zero padding of 1/8 of the side (4 px at 32x32)
  cifar   crop + horizontal flip (the CIFAR recipe)
  full    horizontal flip 0.5, vertical flip 0.3, rotation 25, color jitter 0.2,
          affine (shear 10, scale 0.9-1.1): the medical-imaging recipe
  auto    crop for inputs up to 64 px, full otherwise
"""

from __future__ import annotations

import numpy as np

from seedge.errors import SeedgeError

AUGMENTS = ("auto", "none", "crop", "cifar", "full")


def base_size(spec) -> tuple[int, int]:
    """(H, W) every image is resized to before cropping/augmenting."""
    return tuple(spec.resize) if spec.resize else (spec.height, spec.width)


def resize_to_base(img, spec):
    from PIL import Image

    h, w = base_size(spec)
    if h < spec.height or w < spec.width:
        raise SeedgeError(f"preprocessing: resize {h}x{w} is smaller than the input {spec.height}x{spec.width}")
    if img.size != (w, h):
        img = img.resize((w, h), Image.BILINEAR)
    if spec.input_size[0] == 1:
        img = img.convert("L")
    return img


def center_crop(img, spec):
    w, h = img.size
    if (h, w) == (spec.height, spec.width):
        return img
    top, left = (h - spec.height) // 2, (w - spec.width) // 2
    return img.crop((left, top, left + spec.width, top + spec.height))


def to_array(img, spec) -> np.ndarray:
    """PIL image at input size -> normalized float32 CHW."""
    a = np.asarray(img, dtype=np.float32)
    if a.ndim == 2:
        a = a[:, :, None]
    a = a * np.float32(spec.scale)
    if spec.color_order.upper() == "BGR":
        a = a[:, :, ::-1]
    mean = np.asarray(spec.mean, np.float32)[: a.shape[2]]
    std = np.asarray(spec.std, np.float32)[: a.shape[2]]
    return np.ascontiguousarray(((a - mean) / std).transpose(2, 0, 1))


def preprocess_image(img, spec) -> np.ndarray:
    """The evaluation path: RGB PIL image of any size -> float32 CHW network input."""
    return to_array(center_crop(resize_to_base(img, spec), spec), spec)


def resolve_augment(name: str, spec) -> str:
    if name not in AUGMENTS:
        raise SeedgeError(f"unknown augmentation '{name}'; choose from {', '.join(AUGMENTS)}")
    if name == "auto":
        return "crop" if max(spec.height, spec.width) <= 64 else "full"
    return name


def train_augment(name: str, spec):
    """A callable PIL -> PIL (base size in, input size out) for preset `name`."""
    import torchvision.transforms as T

    name = resolve_augment(name, spec)
    size = (spec.height, spec.width)
    bh, bw = base_size(spec)
    pad = max(1, min(size) // 8)
    steps = []
    if name in ("crop", "cifar"):
        steps.append(T.RandomCrop(size, padding=pad))
    elif (bh, bw) != size:
        steps.append(T.RandomCrop(size))
    if name == "cifar":
        steps.append(T.RandomHorizontalFlip())
    if name == "full":
        steps += [
            T.RandomHorizontalFlip(0.5),
            T.RandomVerticalFlip(0.3),
            T.RandomRotation(25),
            T.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2),
            T.RandomAffine(0, shear=10, scale=(0.9, 1.1)),
        ]
    return T.Compose(steps) if steps else (lambda img: img)
