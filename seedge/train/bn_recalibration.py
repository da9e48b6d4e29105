"""BatchNorm statistics that match the weights: recomputed over training images before each
validation (and so before every save).

Why: a BatchNorm layer normalizes with batch statistics while training but with its running
estimates in eval mode, and those estimates follow the weights only as fast as its momentum
allows. torchvision's MobileNetV3 and EfficientNet use momentum 0.01, so after the ~100-200
steps of a short run the estimates are still near their initial values (mean 0, var 1): a
model at 91 % training accuracy validated at chance (issue 14). Recomputing them as the
exact average over a sample of training batches with the current weights ("precise BN")
fixes that for any momentum and any run length, where a larger momentum would only suit
one run length; it costs one forward pass over RECALIBRATION_IMAGES images per epoch.

torch.optim.swa_utils.update_bn does the recomputation (reset, cumulative average, momenta
restored). The sample is a fixed random subset of the training set (a class-sorted folder
must not give only the first classes), seen through the training augmentation as training
sees it; the CPU random state is forked, so the training run's own shuffling and
augmentation are the same as without recalibration.
"""

from __future__ import annotations

import numpy as np

RECALIBRATION_IMAGES = 512  # ~8 batches of 64: per-channel means/variances settle well before that


def has_batchnorm(model) -> bool:
    from torch.nn.modules.batchnorm import _BatchNorm

    return any(isinstance(m, _BatchNorm) and m.track_running_stats for m in model.modules())


def recalibrate_batchnorm(
    model, dataset, batch_size: int, device: str, seed: int = 0, max_images: int = RECALIBRATION_IMAGES
) -> int:
    """Recompute the running mean/var of every BatchNorm in `model` over up to `max_images`
    images of `dataset` (items are (image tensor, label)); returns the images used (0: the
    model has no BatchNorm with running statistics). The model's train/eval mode is kept."""
    import torch
    from torch.optim.swa_utils import update_bn
    from torch.utils.data import DataLoader, Subset

    if not has_batchnorm(model) or len(dataset) == 0:
        return 0
    n = min(int(max_images), len(dataset))
    pick = np.sort(np.random.default_rng(seed).permutation(len(dataset))[:n])
    bs = max(1, min(int(batch_size), n))
    # a last batch of one image has no variance to measure (and BatchNorm1d refuses it)
    drop_last = n > bs and n % bs == 1
    loader = DataLoader(Subset(dataset, pick.tolist()), batch_size=bs, shuffle=False, drop_last=drop_last)
    with torch.random.fork_rng(devices=[]):  # the augmentation stream of training stays untouched
        torch.manual_seed(seed)
        update_bn(loader, model, device=torch.device(device))
    return n - (n % bs if drop_last else 0)
