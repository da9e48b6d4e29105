"""fold_bn: Conv+BatchNorm and Linear+BatchNorm1d become one Conv / Linear.

How pairs are found: one forward pass on the example input, watching the data flow
(forward hooks on every module plus a `TorchFunctionMode` that records which module is
running whenever a tensor is used). A BN is folded into the conv/linear before it when
  - the BN's input *is* that layer's output tensor (same object), and
  - that output is used nowhere except inside the BN (no residual tap, no in-place add), and
  - each of the two modules is called exactly once.
This finds pairs wherever they sit -- `nn.Sequential`, seedge's `conv1`/`bn1` attribute
pairs, torchvision `Conv2dNormActivation`, timm `ConvNormAct` / `BatchNormAct2d`, the
efficientnet blocks' `conv_pw`/`bn1` -- without name heuristics, and it works on any
Python forward, where torch.fx tracing fails on data-dependent code (timm asserts,
shape arithmetic). A pre-activation pair (BN before conv) is never folded: with padding
it is not exact.

The conv is replaced by `torch.nn.utils.fusion.fuse_conv_bn_eval(conv, bn)`, the BN by
nn.Identity (timm's BatchNormAct2d by its own activation, which it applies after the BN).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval
from torch.overrides import TorchFunctionMode

from seedge.passes._modules import inside, replace_module
from seedge.passes.registry import register_pass

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_BNS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
# Conv subclasses whose forward only changes padding (weights are used as they are).
_CONV_OK_BY_NAME = {"Conv2dSame"}
# Reading a tensor's metadata is not a use of its values.
_METADATA = {"__get__", "dim", "size", "ndimension", "numel", "is_contiguous", "stride", "__len__"}


def _foldable_layer(m: nn.Module) -> bool:
    if isinstance(m, _CONVS):
        base = next(c for c in _CONVS if isinstance(m, c))
        return type(m).forward is base.forward or type(m).__name__ in _CONV_OK_BY_NAME
    return type(m) is nn.Linear


def _foldable_bn(m: nn.Module) -> bool:
    """Plain BN, timm BatchNormAct2d (BN then drop then act) and torchvision FrozenBatchNorm2d."""
    if type(m).__name__ == "FrozenBatchNorm2d":
        return True
    if not isinstance(m, _BNS) or m.running_mean is None or m.running_var is None:
        return False
    base = next(c for c in _BNS if isinstance(m, c))
    return type(m).forward is base.forward or type(m).__name__ == "BatchNormAct2d"


def _bn_leftover(bn: Any) -> nn.Module:
    """What stays in the BN's place: its trailing drop/act for BatchNormAct2d, else nothing."""
    if type(bn).__name__ == "BatchNormAct2d":
        tail = [m for m in (bn.drop, bn.act) if not isinstance(m, nn.Identity)]
        return nn.Sequential(*tail) if len(tail) > 1 else (tail[0] if tail else nn.Identity())
    return nn.Identity()


def _fuse(layer: Any, bn: Any) -> nn.Module:
    if isinstance(layer, nn.Linear):
        return fuse_linear_bn_eval(layer, bn)
    if isinstance(bn, _BNS):
        return fuse_conv_bn_eval(layer, bn)
    # FrozenBatchNorm2d is no _BatchNorm subclass but holds the same four tensors.
    import copy

    fused = copy.deepcopy(layer)
    fused.weight, fused.bias = fuse_conv_bn_weights(
        layer.weight, layer.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias
    )
    return fused


class _Uses(TorchFunctionMode):
    """Records, for each watched tensor, the module running whenever a torch function reads it."""

    def __init__(self, stack: list[str], watched: dict[int, torch.Tensor]):
        super().__init__()
        self.stack, self.watched = stack, watched
        self.uses: dict[int, list[str]] = defaultdict(list)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if getattr(func, "__name__", "") not in _METADATA and self.watched:
            owner = self.stack[-1] if self.stack else ""
            for a in (*args, *kwargs.values()):
                for t in a if isinstance(a, (list, tuple)) else (a,):
                    # `watched` holds the tensors alive, so an id match is that very tensor.
                    if isinstance(t, torch.Tensor) and id(t) in self.watched:
                        self.uses[id(t)].append(owner)
        return func(*args, **kwargs)


def find_pairs(model: nn.Module, example) -> list[tuple[str, str]]:
    """(layer name, bn name) pairs that are safe to fold, found by watching one forward."""
    mods = dict(model.named_modules())
    stack: list[str] = []
    calls: Counter[str] = Counter()
    produced: dict[int, torch.Tensor] = {}  # id(output) -> output, for conv/linear layers
    producer: dict[int, str] = {}
    bn_input: dict[str, tuple[int, int]] = {}  # bn name -> (id of its input, its ndim)
    handles = []

    def pre(name):
        def hook(mod, args):
            stack.append(name)
            calls[name] += 1
            if name in bn_names and args and isinstance(args[0], torch.Tensor):
                bn_input[name] = (id(args[0]), len(args[0].shape))

        return hook

    def post(name):
        def hook(mod, args, out):
            stack.pop()
            if name in layer_names and isinstance(out, torch.Tensor):
                produced[id(out)], producer[id(out)] = out, name

        return hook

    layer_names = {n for n, m in mods.items() if _foldable_layer(m)}
    bn_names = {n for n, m in mods.items() if _foldable_bn(m)}
    if not bn_names or not layer_names:
        return []
    for name, m in mods.items():
        handles += [m.register_forward_pre_hook(pre(name)), m.register_forward_hook(post(name))]
    mode = _Uses(stack, produced)
    try:
        with torch.no_grad(), mode:
            result = model(example)
    finally:
        for h in handles:
            h.remove()
    outputs = {id(t) for t in (result if isinstance(result, (tuple, list)) else (result,))}
    pairs = []
    for bn, (tid, ndim) in bn_input.items():
        layer = producer.get(tid)
        if layer is None or tid in outputs or calls[layer] != 1 or calls[bn] != 1:
            continue
        if any(not inside(owner, [bn]) for owner in mode.uses[tid]):
            continue  # the layer's output is also read elsewhere: folding would change that reader
        if isinstance(mods[layer], nn.Linear) and ndim != 2:
            continue  # BN1d on (N, C, L) normalizes dim 1, the Linear acts on the last dim
        pairs.append((layer, bn))
    return pairs


@register_pass("fold_bn")
def fold_bn(model: nn.Module, example) -> int:
    pairs = find_pairs(model, example)
    for layer, bn in pairs:
        fused = _fuse(model.get_submodule(layer), model.get_submodule(bn))
        leftover = _bn_leftover(model.get_submodule(bn))
        replace_module(model, layer, fused)
        replace_module(model, bn, leftover)
    return len(pairs)
