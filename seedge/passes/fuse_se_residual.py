"""fuse_se_residual: seedge's residual SE blocks compute act(addcmul(shortcut, out, gate)).

The unfused tail is three tensor-sized ops (x * gate, + shortcut, activation); written as
one expression, torch.compile, TensorRT and OpenVINO fuse it into a single kernel, and
eager PyTorch saves one full-size temporary. Only seedge's own blocks have the
`fused_tail` switch; timm/torchvision blocks keep their own forward.
"""

from __future__ import annotations

from torch import nn

from seedge.models.layers import SqueezeExcite
from seedge.models.res_se_net import ResidualSEBlock
from seedge.models.se_resnet import SEBasicBlock, SEBottleneck
from seedge.models.se_resnext import SEResNeXtBottleneck
from seedge.passes.registry import register_pass

_BLOCKS = (SEBasicBlock, SEBottleneck, SEResNeXtBottleneck, ResidualSEBlock)


def _se_of(block: nn.Module):
    """The block's SE module: `se` in seedge's ResNet/ResSENet blocks, `se_module` in SE-ResNeXt."""
    return block.se if hasattr(block, "se") else getattr(block, "se_module", None)


@register_pass("fuse_se_residual")
def fuse_se_residual(model: nn.Module, example=None) -> int:
    changed = 0
    for m in model.modules():
        # The fused tail calls se.scale(): only the canonical SqueezeExcite has it.
        if isinstance(m, _BLOCKS) and not m.fused_tail and isinstance(_se_of(m), SqueezeExcite):
            m.fused_tail = True
            changed += 1
    return changed
