"""drop_dropout: Dropout-like modules (identity at inference) become nn.Identity.

In eval mode they already return their input, and exporters usually drop them; removing
them makes the eager model and any exporter that keeps them (TorchScript keeps the
call) cheaper and the graph plainer. Stochastic-depth modules of torchvision and timm
are the same thing at inference, so they go too.
"""

from __future__ import annotations

from torch import nn

from seedge.passes._modules import replace_module
from seedge.passes.registry import register_pass

_DROPOUTS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)
# Identity in eval mode, matched by name so timm stays optional:
# torchvision.ops.StochasticDepth, timm.layers.DropPath and DropBlock2d.
_DROP_BY_NAME = {"StochasticDepth", "DropPath", "DropBlock2d"}


def _is_drop(m: nn.Module) -> bool:
    return isinstance(m, _DROPOUTS) or (type(m).__name__ in _DROP_BY_NAME and not any(m.children()))


@register_pass("drop_dropout")
def drop_dropout(model: nn.Module, example=None) -> int:
    names = [n for n, m in model.named_modules() if n and _is_drop(m)]
    for name in names:
        replace_module(model, name, nn.Identity())
    return len(names)
