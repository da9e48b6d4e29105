"""canonical_se: every squeeze-and-excitation form becomes seedge's `SqueezeExcite`.

Canonical form: mean over H,W (keepdim) -> 1x1 conv -> act -> 1x1 conv -> gate -> multiply.
In it the gate stays (N, C, 1, 1) from pool to multiply, so the exported graph has no
Flatten/Reshape/Gemm/Unsqueeze around the gate, and every backend sees one SE pattern.

Forms recognised by structure rather than by class name -- a module whose leaves are
two "linear" layers C -> h -> C (1x1 Conv2d or Linear), optionally one BatchNorm on h,
two parameter-free-or-activation modules (act, then gate, in registration order), and
otherwise only global average pooling / Flatten / Identity / Dropout:
  - torchvision.ops.misc.SqueezeExcitation (avgpool, fc1, fc2, activation, scale_activation),
  - timm SEModule (fc1, bn, act, fc2, gate) and timm/pretrainedmodels legacy SEModule
    (fc1, relu, fc2, sigmoid),
  - timm efficientnet SqueezeExcite (conv_reduce, act1, conv_expand, gate),
  - Linear-based SE layers (avgpool -> view -> Linear -> act -> Linear -> sigmoid -> view -> mul),
    whose Linear weights become 1x1 conv weights.
A structural match is only a candidate: it is replaced only if, on the very input it saw
during a forward pass of the example, the canonical module gives the same output
(max abs diff <= 1e-5 of the output scale). So look-alikes with another forward
(max-pool squeeze, CBAM channel attention, `x * (1 + gate)`) stay as they are.
The act and gate module instances are kept (ReLU/SiLU/Hardsigmoid/timm's own ones).
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

from seedge.models.layers import SqueezeExcite
from seedge.passes._modules import inside, replace_module
from seedge.passes.registry import register_pass

VERIFY_TOLERANCE = 1e-5
_NEUTRAL = (nn.Identity, nn.Flatten, nn.Unflatten, nn.Dropout, nn.Dropout1d, nn.Dropout2d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


def _is_1x1(m: nn.Module) -> bool:
    if type(m) is nn.Linear:
        return True
    return (type(m) is nn.Conv2d and m.kernel_size == (1, 1) and m.stride == (1, 1) and m.groups == 1
            and m.padding in ((0, 0), "valid") and m.dilation == (1, 1))


def _io(m: nn.Module) -> tuple[int, int]:
    return (m.in_features, m.out_features) if isinstance(m, nn.Linear) else (m.in_channels, m.out_channels)


def _is_global_avg(m: nn.Module) -> bool:
    return isinstance(m, nn.AdaptiveAvgPool2d) and m.output_size in (1, (1, 1))


def se_parts(module: nn.Module):
    """(reduce, norm|None, act, expand, gate) if `module` is shaped like an SE block, else None."""
    if any(True for _ in module.parameters(recurse=False)):
        return None
    linears, norms, acts = [], [], []
    for _, m in module.named_modules():
        if m is module:
            continue
        if any(m.children()):
            if any(True for _ in m.parameters(recurse=False)):
                return None  # a container with its own weights: not a plain SE
            continue
        if _is_1x1(m):
            linears.append(m)
        elif isinstance(m, _NORMS):
            norms.append(m)
        elif _is_global_avg(m) or isinstance(m, _NEUTRAL):
            continue
        elif isinstance(m, (nn.Conv2d, nn.Linear, nn.modules.pooling._AvgPoolNd,
                            nn.modules.pooling._MaxPoolNd, nn.AdaptiveMaxPool2d, nn.AdaptiveAvgPool2d)):
            return None
        else:
            acts.append(m)
    if len(linears) != 2 or len(acts) != 2 or len(norms) > 1:
        return None
    reduce, expand = linears
    (c, h), (h2, c2) = _io(reduce), _io(expand)
    if h != h2 or c != c2 or (norms and norms[0].num_features != h):
        return None
    return reduce, (norms[0] if norms else None), acts[0], expand, acts[1]


def _as_conv1x1(layer: nn.Module, norm: nn.Module | None) -> nn.Conv2d:
    """A 1x1 Conv2d computing `norm(layer(.))` on (N, C, 1, 1) tensors."""
    if isinstance(layer, nn.Linear):
        if norm is not None:
            layer = fuse_linear_bn_eval(layer, norm)
        conv = nn.Conv2d(layer.in_features, layer.out_features, 1, bias=layer.bias is not None)
        with torch.no_grad():
            conv.weight.copy_(layer.weight.reshape(layer.out_features, layer.in_features, 1, 1))
            if layer.bias is not None:
                conv.bias.copy_(layer.bias)
        return conv.to(device=layer.weight.device, dtype=layer.weight.dtype).eval()
    return fuse_conv_bn_eval(layer, norm) if norm is not None else copy.deepcopy(layer)


def to_canonical(module: nn.Module) -> SqueezeExcite | None:
    parts = se_parts(module)
    if parts is None:
        return None
    reduce, norm, act, expand, gate = parts
    if norm is not None and (isinstance(norm, nn.BatchNorm1d) != isinstance(reduce, nn.Linear)
                             or norm.running_mean is None):
        return None
    channels, hidden = _io(reduce)
    se = SqueezeExcite(channels, hidden)
    se.fc1, se.act = _as_conv1x1(reduce, norm), act
    se.fc2, se.gate = _as_conv1x1(expand, None), gate
    return se.eval()


def _same(module: nn.Module, canonical: nn.Module, x: torch.Tensor) -> bool:
    with torch.no_grad():
        ref = module(x.clone())
        if not isinstance(ref, torch.Tensor) or ref.shape != x.shape:
            return False
        out = canonical(x.clone())
    scale = float(ref.abs().max())
    return float((out - ref).abs().max()) <= VERIFY_TOLERANCE * max(scale, 1e-12)


def _inputs_seen(model: nn.Module, names: list[str], example) -> dict[str, torch.Tensor]:
    """The first 4-D input each named module receives in a forward pass of `example`."""
    seen, handles = {}, []

    def hook(name):
        def fn(mod, args):
            if name not in seen and len(args) == 1 and isinstance(args[0], torch.Tensor) and args[0].dim() == 4:
                seen[name] = args[0].detach().clone()  # clone: later in-place ops must not change it
        return fn

    for name in names:
        handles.append(model.get_submodule(name).register_forward_pre_hook(hook(name)))
    try:
        with torch.no_grad():
            model(example)
    finally:
        for h in handles:
            h.remove()
    return seen


@register_pass("canonical_se")
def canonical_se(model: nn.Module, example) -> int:
    candidates = [n for n, m in model.named_modules()
                  if n and not any(isinstance(c, SqueezeExcite) for c in m.modules()) and se_parts(m) is not None]
    if not candidates:
        return 0
    seen = _inputs_seen(model, candidates, example)
    done: list[str] = []
    # Innermost first: a wrapper around an SE block matches too, but the SE block is what to replace.
    for name in sorted(candidates, key=lambda n: n.count("."), reverse=True):
        if name not in seen or inside(name, done) or any(inside(d, [name]) for d in done):
            continue
        module = model.get_submodule(name)
        canonical = to_canonical(module)
        if canonical is not None and _same(module, canonical, seen[name]):
            replace_module(model, name, canonical)
            done.append(name)
    return len(done)
