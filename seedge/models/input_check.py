"""Whether a network accepts an input size, checked with one forward pass before any work.

A size too small for the network's strides and pools (`--img-size 64` on res_se_net, whose six
2x2 max-pools and strided first block need at least 128 px) fails deep inside PyTorch with a
shape error after data loading; here it is one line naming the smallest size that works.
"""

from __future__ import annotations

from seedge.errors import SeedgeError

_LIMIT = 4096  # no search beyond this side: such a network is not a small-input problem


def runs_at(model, input_size: tuple) -> bool:
    """One forward pass at batch 1 on zeros of `input_size` (C, H, W), eval mode, no grad."""
    import torch

    was_training = model.training
    try:
        model.eval()
        p = next(model.parameters())
        with torch.no_grad():
            model(torch.zeros((1, *input_size), dtype=p.dtype, device=p.device))
        return True
    except RuntimeError:  # the shape errors of convolutions, pools and views
        return False
    finally:
        model.train(was_training)


def check_input_size(model, input_size: tuple, what: str = "--img-size") -> None:
    """SeedgeError naming the minimum when `model` cannot run at `input_size` (C, H, W)."""
    c, h, w = (int(v) for v in input_size)
    if runs_at(model, (c, h, w)):
        return
    arch = getattr(model, "seedge_arch", "the model")
    side = max(h, w)
    while side <= _LIMIT and not runs_at(model, (c, side, side)):
        side *= 2
    if side > _LIMIT:
        raise SeedgeError(
            f"{arch} does not run at input {h}x{w} (nor at any size up to {_LIMIT}); "
            f"check the model's input channels ({c}) and its configuration"
        )
    min_h = _smallest(lambda v: runs_at(model, (c, v, side)), 0, side)
    min_w = _smallest(lambda v: runs_at(model, (c, side, v)), 0, side)
    raise SeedgeError(
        f"{what} {h}x{w} is too small for {arch}: its strides and pooling need at least "
        f"{min_h}x{min_w}; use {what} {max(h, min_h)}x{max(w, min_w)} or more"
    )


def _smallest(ok, low: int, high: int) -> int:
    """The smallest v in (low, high] with ok(v), given not ok(low) and ok(high) (monotone)."""
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if ok(mid) else (mid, high)
    return high
