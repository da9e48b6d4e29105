"""torch Dataset / DataLoader helpers for training (this module imports torch).

Items go through seedge.preprocess step by step: decode and resize to the base size once,
then per item either the augmentation (seedge.data.transforms) or the evaluation center crop,
then the same array conversion as export and the device runtime.

Training images are decoded once and kept at their base size (when they fit in
`CACHE_BYTES`), so every epoch only pays for augmentation; decoding them all up front
also surfaces an unreadable file before the first epoch instead of in the middle.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, TensorDataset

from seedge.data.images import read_image
from seedge.preprocess import base_size, center_crop, resize_to_base, to_array

CACHE_BYTES = 1 << 30


class ImageDataset(Dataset):
    """Samples -> (float32 CHW tensor, int64 label), augmented when `augment` is given."""

    def __init__(self, samples, spec, augment=None, cache: bool | None = None):
        self.samples = samples
        self.spec = spec
        self.augment = augment
        h, w = base_size(spec)
        self.cache = (len(samples) * h * w * 3 <= CACHE_BYTES) if cache is None else cache
        self._base: list = [None] * len(samples)

    def __len__(self) -> int:
        return len(self.samples)

    def base_image(self, i: int):
        img = self._base[i]
        if img is None:
            img = resize_to_base(read_image(self.samples.items[i], self.samples.origins[i]), self.spec)
            if self.cache:
                self._base[i] = img
        return img

    def preload(self, progress=None) -> None:
        """Decode every image now (cached when caching is on): bad files fail before training."""
        for i in range(len(self)):
            if self.cache:
                self.base_image(i)
            else:
                read_image(self.samples.items[i], self.samples.origins[i])
            if progress is not None:
                progress(i + 1)

    def __getitem__(self, i: int):
        img = self.base_image(i)
        img = self.augment(img) if self.augment is not None else center_crop(img, self.spec)
        return torch.from_numpy(to_array(img, self.spec)), int(self.samples.labels[i])


def array_dataset(x: np.ndarray, y: np.ndarray) -> TensorDataset:
    return TensorDataset(torch.from_numpy(x), torch.from_numpy(np.asarray(y, dtype=np.int64)))


def make_loader(
    dataset,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    rank: int = 0,
    world: int = 1,
    workers: int = 0,
    drop_last: bool = False,
) -> DataLoader:
    """Seeded loader; with world > 1 a DistributedSampler gives each rank its shard
    (call `loader.sampler.set_epoch(epoch)` each epoch to reshuffle). `drop_last` drops the last
    incomplete batch."""
    gen = torch.Generator().manual_seed(seed)
    sampler: DistributedSampler | None = None
    if world > 1:
        sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=shuffle, seed=seed)
        shuffle = False
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        sampler=sampler,
        num_workers=workers,
        generator=gen,
        drop_last=drop_last,
        persistent_workers=workers > 0,
    )
