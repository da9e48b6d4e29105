"""Training augmentations, on top of the one preprocessing (seedge.preprocess).

Training brings each image to the spec's base size with seedge.preprocess (decode -> RGB ->
resize -> "L" for 1 channel), augments it here as a PIL image (torchvision, imported lazily;
the result is at the input size), then converts it with seedge.preprocess.to_array, the same
array step evaluation, export and the device runtime use: train and export see the same numbers.

Augmentation presets (`--augment`):
  none    no augmentation
  crop    random crop with zero padding of 1/8 of the side (4 px at 32x32)
  cifar   crop + horizontal flip (the CIFAR recipe)
  full    horizontal flip 0.5, vertical flip 0.3, rotation 25, color jitter 0.2,
          affine (shear 10, scale 0.9-1.1): the medical-imaging recipe
  auto    crop for inputs up to 64 px, full otherwise
"""

from __future__ import annotations

from seedge.errors import unknown
from seedge.preprocess import base_size

# The --augment presets (details above); the CLI's choices and help come from here.
AUGMENT_MEANINGS = {
    "auto": "crop for inputs up to 64 px, full otherwise",
    "none": "no augmentation",
    "crop": "random crop with zero padding",
    "cifar": "crop + horizontal flip",
    "full": "flips, rotation, color jitter, affine",
}
AUGMENTS = tuple(AUGMENT_MEANINGS)


def resolve_augment(name: str, spec) -> str:
    if name not in AUGMENTS:
        raise unknown("augmentation", name, AUGMENTS)
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
