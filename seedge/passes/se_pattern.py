"""Squeeze-and-excitation found by what it computes, in a torch.fx graph.

A match is a chain that ends in a multiply with the tensor it started from:

    X -> squeeze -> reduce (C -> h) -> [BatchNorm] -> act -> expand (h -> C) -> gate -> multiply(X, .)

  squeeze   global mean over H,W: nn.AdaptiveAvgPool2d(1), F.adaptive_avg_pool2d(x, 1),
            x.mean((2, 3)) / torch.mean(x, [2, 3]) with or without keepdim, x.mean(3).mean(2)
  reduce,   nn.Linear or a 1x1 nn.Conv2d, with or without bias (also F.linear / F.conv2d
  expand    on the module's own weights, as a torch.export program holds them)
  act       any activation module, or relu / relu6 / silu / gelu / leaky_relu / hardswish / ...
  gate      sigmoid or hard-sigmoid: nn.Sigmoid, torch.sigmoid, x.sigmoid(), nn.Hardsigmoid,
            F.hardsigmoid, relu6(x + 3) / 6 written out, or a parameter-free module of the
            user's own that computes one of the two (probed on a range of values)
with any reshaping in between (view, reshape, flatten, squeeze/unsqueeze, [:, :, None, None],
expand / expand_as, contiguous, Flatten/Identity/Dropout modules). Every node of the chain
must be used only by the chain (reading its size does not count), so removing it changes
nothing else. A structural match is only a candidate: canonical_se replaces it only after
the canonical module gives the same values on the block's real input.

`find_se(gm)` returns the matches and, for every multiply that is not one, why not.
"""

from __future__ import annotations

import copy
import operator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

from seedge.models.layers import SqueezeExcite

_aten = torch.ops.aten

# Ops that only rearrange a tensor's elements (the chain may pass through any number of them).
_SHAPE_METHODS = {
    "view",
    "reshape",
    "flatten",
    "unflatten",
    "unsqueeze",
    "squeeze",
    "expand",
    "expand_as",
    "contiguous",
    "view_as",
    "reshape_as",
}
_SHAPE_FUNCTIONS = {torch.flatten, torch.reshape, torch.unsqueeze, torch.squeeze}
_SHAPE_ATEN = {
    _aten.view,
    _aten.reshape,
    _aten._unsafe_view,
    _aten.unsqueeze,
    _aten.squeeze,
    _aten.expand,
    _aten.expand_as,
    _aten.flatten,
    _aten.clone,
    _aten.contiguous,
    _aten.alias,
}
_SHAPE_MODULES = (nn.Flatten, nn.Unflatten, nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout)

# Activation functions -> an equivalent module (act(x) elementwise: (N, h) and (N, h, 1, 1) agree).
_ACT_FUNCTIONS = {
    F.relu: lambda a, k: nn.ReLU(),
    torch.relu: lambda a, k: nn.ReLU(),
    F.relu_: lambda a, k: nn.ReLU(),
    torch.relu_: lambda a, k: nn.ReLU(),
    F.relu6: lambda a, k: nn.ReLU6(),
    F.silu: lambda a, k: nn.SiLU(),
    F.hardswish: lambda a, k: nn.Hardswish(),
    F.mish: lambda a, k: nn.Mish(),
    F.gelu: lambda a, k: nn.GELU(approximate=k.get("approximate", "none")),
    F.leaky_relu: lambda a, k: nn.LeakyReLU(a[1] if len(a) > 1 else k.get("negative_slope", 0.01)),
    F.elu: lambda a, k: nn.ELU(a[1] if len(a) > 1 else k.get("alpha", 1.0)),
    _aten.relu.default: lambda a, k: nn.ReLU(),
    _aten.relu_.default: lambda a, k: nn.ReLU(),
    _aten.silu.default: lambda a, k: nn.SiLU(),
    _aten.silu_.default: lambda a, k: nn.SiLU(),
    _aten.hardswish.default: lambda a, k: nn.Hardswish(),
    _aten.hardswish_.default: lambda a, k: nn.Hardswish(),
    _aten.gelu.default: lambda a, k: nn.GELU(approximate=k.get("approximate", "none")),
    _aten.leaky_relu.default: lambda a, k: nn.LeakyReLU(a[1] if len(a) > 1 else 0.01),
    _aten.relu6.default: lambda a, k: nn.ReLU6(),
}
# relu6 as exported graphs write it: hardtanh(x, 0, 6) / clamp(x, 0, 6)
_CLIP06 = {F.hardtanh, _aten.hardtanh.default, _aten.hardtanh_.default, torch.clamp, _aten.clamp.default}
_ADDS = {operator.add, torch.add, _aten.add.Tensor, _aten.add.Scalar}
_DIVS = {operator.truediv, torch.div, _aten.div.Tensor, _aten.div.Scalar}
_SCALAR_MULS = {operator.mul, torch.mul, _aten.mul.Tensor, _aten.mul.Scalar}
_ACT_METHODS = {"relu": nn.ReLU, "relu_": nn.ReLU}
_SIGMOIDS = {torch.sigmoid, F.sigmoid, _aten.sigmoid.default, _aten.sigmoid_.default}
_HARD_SIGMOIDS = {F.hardsigmoid, _aten.hardsigmoid.default, _aten.hardsigmoid_.default}
_MULS = {operator.mul, torch.mul, _aten.mul.Tensor}
_METADATA_METHODS = {"size", "dim"}


@dataclass
class SEMatch:
    """One squeeze-and-excitation chain in a graph, and the pieces of its canonical form."""

    x: fx.Node  # the block input (squeezed, then multiplied by the gate)
    mul: fx.Node  # the multiply that applies the gate
    squeeze: fx.Node  # the global mean over H,W (the chain's first node)
    reduce: nn.Module  # Linear or 1x1 Conv2d, C -> h
    norm: nn.Module | None  # BatchNorm on h, folded into reduce
    act: nn.Module
    expand: nn.Module  # h -> C
    gate: nn.Module  # nn.Sigmoid or nn.Hardsigmoid (or the user's equivalent module)
    body: list[fx.Node] = field(default_factory=list)  # nodes strictly between x and mul
    modules: list[str] = field(default_factory=list)  # the modules the chain ran, in forward order
    form: list[str] = field(default_factory=list)  # what each step was, for the report

    def canonical(self) -> SqueezeExcite:
        """seedge's SqueezeExcite computing the same function (fresh weights copied, not shared)."""
        channels, hidden = io_features(self.reduce)
        se = SqueezeExcite(channels, hidden)
        se.fc1, se.act = as_conv1x1(self.reduce, self.norm), self.act
        se.fc2, se.gate = as_conv1x1(self.expand, None), self.gate
        return se.eval()


# --- layer helpers (shared with canonical_se's module-level fallback) ------------------------------


def is_1x1(m: nn.Module) -> bool:
    if type(m) is nn.Linear:
        return True
    return (
        type(m) is nn.Conv2d
        and m.kernel_size == (1, 1)
        and m.stride == (1, 1)
        and m.groups == 1
        and m.padding in ((0, 0), "valid")
        and m.dilation == (1, 1)
    )


def io_features(m: Any) -> tuple[int, int]:
    return (m.in_features, m.out_features) if isinstance(m, nn.Linear) else (m.in_channels, m.out_channels)


def as_conv1x1(layer: Any, norm: Any) -> nn.Conv2d:
    """A 1x1 Conv2d computing `norm(layer(.))` on (N, C, 1, 1) tensors."""
    if isinstance(layer, nn.Linear):
        if norm is not None:
            layer = fuse_linear_bn_eval(layer, norm)
        conv = nn.Conv2d(layer.in_features, layer.out_features, 1, bias=layer.bias is not None)
        with torch.no_grad():
            conv.weight.copy_(layer.weight.reshape(layer.out_features, layer.in_features, 1, 1))
            if layer.bias is not None and conv.bias is not None:  # conv has a bias exactly when layer has
                conv.bias.copy_(layer.bias)
        return conv.to(device=layer.weight.device, dtype=layer.weight.dtype).eval()
    return fuse_conv_bn_eval(layer, norm) if norm is not None else copy.deepcopy(layer)


def gate_kind(module: nn.Module) -> str | None:
    """ "sigmoid" / "hardsigmoid" if a parameter-free module computes that function, else None."""
    if isinstance(module, nn.Sigmoid):
        return "sigmoid"
    if isinstance(module, nn.Hardsigmoid):
        return "hardsigmoid"
    if any(True for _ in module.parameters()) or any(True for _ in module.buffers()):
        return None
    probe = torch.linspace(-8.0, 8.0, 161).reshape(1, 161, 1, 1)
    try:
        with torch.no_grad():
            out = module(probe.clone())
    except Exception:  # noqa: BLE001 - a module that cannot take this probe is no gate we know
        return None
    if not isinstance(out, torch.Tensor) or out.shape != probe.shape:
        return None
    for name, fn in (("sigmoid", torch.sigmoid), ("hardsigmoid", F.hardsigmoid)):
        if torch.allclose(out, fn(probe), atol=1e-6, rtol=0):
            return name
    return None


# --- matching -----------------------------------------------------------------------------------


def _module(gm: nn.Module, node: fx.Node) -> nn.Module | None:
    if node.op != "call_module":
        return None
    try:
        return gm.get_submodule(str(node.target))
    except AttributeError:
        return None


def _fetch(gm: nn.Module, node) -> torch.Tensor | None:
    """The tensor a get_attr node names (parameters/buffers of a traced or exported module)."""
    if not isinstance(node, fx.Node) or node.op != "get_attr":
        return None
    obj: object = gm
    for part in str(node.target).split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj if isinstance(obj, torch.Tensor) else None


def is_metadata(node: fx.Node) -> bool:
    """Nodes that read a tensor's shape, not its values (x.size(), x.shape, x.dim() and their items)."""
    if node.op == "call_method" and node.target in _METADATA_METHODS:
        return True
    if node.op == "call_function" and node.target is getattr and len(node.args) > 1 and node.args[1] == "shape":
        return True
    if node.op == "call_function" and node.target in (_aten.sym_size.int, _aten.sym_size):
        return True
    if node.op == "call_function" and node.target is operator.getitem and isinstance(node.args[0], fx.Node):
        return is_metadata(node.args[0])
    return False


def _reshape_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or i == slice(None) for i in items)


def _is_shape_op(gm, node: fx.Node) -> bool:
    if node.op == "call_method":
        return node.target in _SHAPE_METHODS
    if node.op == "call_function":
        if node.target is operator.getitem:
            return _reshape_index(node.args[1])
        packet = getattr(node.target, "overloadpacket", None)
        return node.target in _SHAPE_FUNCTIONS or packet in _SHAPE_ATEN
    m = _module(gm, node)
    return m is not None and isinstance(m, _SHAPE_MODULES)


def _skip_shape(gm, node, body: list) -> object:
    """Follow the data argument back through reshaping ops; the ops passed are added to `body`."""
    while isinstance(node, fx.Node) and _is_shape_op(gm, node):
        body.append(node)
        node = node.args[0]
    return node


def _describe(gm, node) -> str:
    if not isinstance(node, fx.Node):
        return f"the constant {node!r}"
    if node.op == "call_module":
        m = _module(gm, node)
        return f"module {node.target} ({type(m).__name__})"
    if node.op == "call_function":
        return f"{getattr(node.target, '__name__', str(node.target))}()"
    if node.op == "call_method":
        return f".{node.target}()"
    return f"the {node.op} '{node.name}'"


def _arg(node: fx.Node, i: int, name: str, default=None):
    if len(node.args) > i:
        return node.args[i]
    return node.kwargs.get(name, default)


def _gate(gm, node, body: list):
    """(gate module, kind, input node) if `node` computes sigmoid/hard-sigmoid of its input."""
    if not isinstance(node, fx.Node):
        return None
    m = _module(gm, node)
    if m is not None:
        kind = gate_kind(m)
        if kind is None:
            return None
        body.append(node)
        if type(m) in (nn.Sigmoid, nn.Hardsigmoid):
            return m, type(m).__name__, node.args[0]
        # The user's own gate class (h_sigmoid ...) becomes torch's: exporters know that one.
        return (nn.Sigmoid() if kind == "sigmoid" else nn.Hardsigmoid()), f"{type(m).__name__} ({kind})", node.args[0]
    if (
        node.op == "call_function"
        and node.target in _SIGMOIDS
        or node.op == "call_method"
        and node.target in ("sigmoid", "sigmoid_")
    ):
        body.append(node)
        return nn.Sigmoid(), "sigmoid", node.args[0]
    if (
        node.op == "call_function"
        and node.target in _HARD_SIGMOIDS
        or node.op == "call_method"
        and node.target in ("hardsigmoid",)
    ):
        body.append(node)
        return nn.Hardsigmoid(), "hardsigmoid", node.args[0]
    written = _written_hard_sigmoid(gm, node)
    if written is not None:
        body.extend(written[1])
        return nn.Hardsigmoid(), "relu6(x+3)/6", written[0]
    return None


def _is_relu6(gm, node) -> bool:
    if not isinstance(node, fx.Node):
        return False
    if isinstance(_module(gm, node), nn.ReLU6):
        return True
    if node.op != "call_function":
        return False
    if node.target in (F.relu6, _aten.relu6.default):
        return True
    bounds = tuple(node.args[1:3]) or (node.kwargs.get("min"), node.kwargs.get("max"))
    return node.target in _CLIP06 and bounds == (0.0, 6.0)


def _written_hard_sigmoid(gm, node):
    """relu6(z + 3) / 6 (or * (1/6)), as MobileNetV3 code writes its h_sigmoid: (z, nodes) or None."""
    if node.op != "call_function" or len(node.args) < 2 or not isinstance(node.args[0], fx.Node):
        return None
    scale = node.args[1]
    if not (
        (node.target in _DIVS and scale == 6)
        or (node.target in _SCALAR_MULS and isinstance(scale, float) and abs(scale - 1 / 6) < 1e-9)
    ):
        return None
    clip = node.args[0]
    if not _is_relu6(gm, clip) or not isinstance(clip.args[0], fx.Node):
        return None
    add = clip.args[0]
    if add.op != "call_function" or add.target not in _ADDS or len(add.args) < 2 or add.args[1] != 3:
        return None
    return add.args[0], [node, clip, add]


def _linear(gm, node, body: list):
    """(Linear or 1x1 Conv2d module, input node) if `node` applies one; functional forms become modules."""
    if not isinstance(node, fx.Node):
        return None
    m = _module(gm, node)
    if m is not None:
        if is_1x1(m):
            body.append(node)
            return m, node.args[0]
        return None
    if node.op != "call_function":
        return None
    if node.target in (F.linear, _aten.linear.default):
        w, b = _fetch(gm, _arg(node, 1, "weight")), _arg(node, 2, "bias")
        bias = _fetch(gm, b)
        if w is None or w.dim() != 2 or (b is not None and bias is None):
            return None
        layer: nn.Linear | nn.Conv2d = nn.Linear(w.shape[1], w.shape[0], bias=bias is not None).to(w.device, w.dtype)
    elif node.target in (F.conv2d, _aten.conv2d.default):
        w, b = _fetch(gm, _arg(node, 1, "weight")), _arg(node, 2, "bias")
        bias = _fetch(gm, b)
        plain = (
            _arg(node, 3, "stride", 1) in (1, (1, 1), [1, 1])
            and _arg(node, 4, "padding", 0) in (0, (0, 0), [0, 0])
            and _arg(node, 5, "dilation", 1) in (1, (1, 1), [1, 1])
            and _arg(node, 6, "groups", 1) == 1
        )
        if w is None or w.dim() != 4 or tuple(w.shape[2:]) != (1, 1) or not plain or (b is not None and bias is None):
            return None
        layer = nn.Conv2d(w.shape[1], w.shape[0], 1, bias=bias is not None).to(w.device, w.dtype)
    else:
        return None
    with torch.no_grad():
        layer.weight.copy_(w)
        if bias is not None and layer.bias is not None:  # built with a bias exactly when there is one
            layer.bias.copy_(bias)
    body.append(node)
    return layer.eval(), node.args[0]


def _act(gm, node, body: list):
    """(activation module, input node) if `node` is an elementwise activation."""
    if not isinstance(node, fx.Node):
        return None
    m = _module(gm, node)
    if m is not None:
        params_ok = isinstance(m, nn.PReLU) or not any(True for _ in m.parameters())
        if (
            params_ok
            and not any(m.children())
            and not isinstance(m, _SHAPE_MODULES)
            and not is_1x1(m)
            and not isinstance(
                m,
                (
                    nn.modules.pooling._AvgPoolNd,
                    nn.modules.pooling._MaxPoolNd,
                    nn.modules.pooling._AdaptiveAvgPoolNd,
                    nn.modules.pooling._AdaptiveMaxPoolNd,
                    nn.modules.batchnorm._BatchNorm,
                    nn.Conv2d,
                    nn.Linear,
                ),
            )
        ):
            body.append(node)
            return m, node.args[0]
        return None
    if node.op == "call_function" and node.target in _ACT_FUNCTIONS:
        body.append(node)
        return _ACT_FUNCTIONS[node.target](node.args, node.kwargs), node.args[0]
    if _is_relu6(gm, node):
        body.append(node)
        return nn.ReLU6(), node.args[0]
    if node.op == "call_method" and node.target in _ACT_METHODS:
        body.append(node)
        return _ACT_METHODS[node.target](), node.args[0]
    return None


def _spatial_dims(dims) -> set | None:
    if isinstance(dims, int):
        return {dims}
    if isinstance(dims, (tuple, list)) and all(isinstance(d, int) for d in dims):
        return set(dims)
    return None


def _squeeze(gm, node, body: list):
    """(input node, description) if `node` is a global mean over H,W of a 4-D input."""
    if not isinstance(node, fx.Node):
        return None
    m = _module(gm, node)
    if m is not None:
        if isinstance(m, nn.AdaptiveAvgPool2d) and m.output_size in (1, (1, 1), [1, 1]):
            body.append(node)
            return node.args[0], "AdaptiveAvgPool2d(1)"
        return None
    if node.op == "call_function" and node.target in (
        F.adaptive_avg_pool2d,
        torch._C._nn.adaptive_avg_pool2d,
        _aten.adaptive_avg_pool2d.default,
        _aten._adaptive_avg_pool2d.default,
    ):
        if _arg(node, 1, "output_size") in (1, (1, 1), [1, 1]):
            body.append(node)
            return node.args[0], "adaptive_avg_pool2d(1)"
        return None
    is_mean = (node.op == "call_method" and node.target == "mean") or (
        node.op == "call_function" and node.target in (torch.mean, _aten.mean.dim)
    )
    if not is_mean:
        return None
    dims = _spatial_dims(_arg(node, 1, "dim"))
    if dims in ({2, 3}, {-1, -2}):
        body.append(node)
        return node.args[0], "mean(H,W)"
    # Two single-dim means (x.mean(3).mean(2), x.mean(-1).mean(-1)): the value check confirms the dims.
    inner = node.args[0]
    if (
        dims is not None
        and len(dims) == 1
        and isinstance(inner, fx.Node)
        and (
            (inner.op == "call_method" and inner.target == "mean")
            or (inner.op == "call_function" and inner.target in (torch.mean, _aten.mean.dim))
        )
    ):
        inner_dims = _spatial_dims(_arg(inner, 1, "dim"))
        if inner_dims is not None and len(inner_dims) == 1:
            body.extend([node, inner])
            return inner.args[0], "mean(W).mean(H)"
    return None


def _norm(gm, node, body: list):
    m = _module(gm, node) if isinstance(node, fx.Node) else None
    if (
        isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))
        and type(m).forward in (nn.BatchNorm1d.forward, nn.BatchNorm2d.forward)
        and m.running_mean is not None
    ):
        body.append(node)
        return m, node.args[0]
    return None


def _match_side(gm, mul: fx.Node, x, g) -> SEMatch | tuple[int, str]:
    """The chain from the gate operand `g` back to a squeeze of `x`, or (how far it got, why not)."""
    if not isinstance(x, fx.Node) or not isinstance(g, fx.Node):
        return 0, "one operand of the multiply is a constant"
    body: list[fx.Node] = []
    n = _skip_shape(gm, g, body)
    gate = _gate(gm, n, body)
    if gate is None:
        return 1, f"the multiply's gate operand is {_describe(gm, n)}, not a sigmoid or hard-sigmoid"
    gate_mod, gate_form, n = gate
    n = _skip_shape(gm, n, body)
    expand = _linear(gm, n, body)
    if expand is None:
        return 2, f"the {gate_form} gate is fed by {_describe(gm, n)}, not a Linear or 1x1 conv"
    expand_mod, n = expand
    expand_node = body[-1]
    n = _skip_shape(gm, n, body)
    act = _act(gm, n, body)
    if act is None:
        return 3, f"the expand layer {_describe(gm, expand_node)} is fed by {_describe(gm, n)}, not an activation"
    act_mod, n = act
    n = _skip_shape(gm, n, body)
    norm = _norm(gm, n, body)
    norm_mod = None
    if norm is not None:
        norm_mod, n = norm
        n = _skip_shape(gm, n, body)
    reduce = _linear(gm, n, body)
    if reduce is None:
        return 4, f"the activation is fed by {_describe(gm, n)}, not a Linear or 1x1 conv"
    reduce_mod, n = reduce
    n = _skip_shape(gm, n, body)
    squeeze = _squeeze(gm, n, body)
    if squeeze is None:
        return 5, f"the squeeze is {_describe(gm, n)}, not a global mean over H,W"
    source, squeeze_form = squeeze
    squeeze_node = body[-1]
    if source is not x:
        return 6, "the squeezed tensor is not the one the gate multiplies"
    (c, h), (h2, c2) = io_features(reduce_mod), io_features(expand_mod)
    if h != h2 or c != c2:
        return 7, f"layer sizes do not chain: {c}->{h} then {h2}->{c2}"
    if norm_mod is not None and (
        norm_mod.num_features != h or isinstance(norm_mod, nn.BatchNorm1d) != isinstance(reduce_mod, nn.Linear)
    ):
        return 7, "the BatchNorm between the two layers does not fit them"
    inside = set(body) | {mul}
    for node in body:
        leaks = [u for u in node.users if u not in inside and not is_metadata(u)]
        if leaks:
            return 8, f"{_describe(gm, node)} is also used outside the SE chain (by {_describe(gm, leaks[0])})"
    modules = [str(n.target) for n in reversed(body) if n.op == "call_module"]
    form = [
        squeeze_form,
        _step(reduce_mod),
        *(["BatchNorm"] if norm_mod is not None else []),
        type(act_mod).__name__,
        _step(expand_mod),
        gate_form,
        "multiply",
    ]
    # Exported programs call no modules; their nodes remember which module ran them.
    modules += [p for p in (stack_path(n) for n in reversed(body) if n.op != "call_module") if p]
    return SEMatch(
        x=x,
        mul=mul,
        squeeze=squeeze_node,
        reduce=reduce_mod,
        norm=norm_mod,
        act=act_mod,
        expand=expand_mod,
        gate=gate_mod,
        body=body,
        modules=list(dict.fromkeys(modules)),
        form=form,
    )


def stack_path(node: fx.Node) -> str:
    """The module path that ran `node` (torch.fx and torch.export record it), "" if unknown."""
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return ""
    key, value = list(stack.items())[-1]
    return value[0] if isinstance(value, tuple) and isinstance(value[0], str) else str(key)


def _step(layer: nn.Module) -> str:
    return "Linear" if isinstance(layer, nn.Linear) else "Conv1x1"


def _is_mul(node: fx.Node) -> bool:
    if node.op == "call_function" and node.target in _MULS:
        return True
    return node.op == "call_method" and node.target == "mul"


def find_se(gm: fx.GraphModule) -> tuple[list[SEMatch], list[str]]:
    """All SE chains in `gm`'s graph, and for each other tensor-by-tensor multiply why it is not one."""
    matches, misses = [], []
    claimed: set[fx.Node] = set()
    for node in gm.graph.nodes:
        if not _is_mul(node) or len(node.args) < 2 or node.kwargs:
            continue
        a, b = node.args[0], node.args[1]
        if not (isinstance(a, fx.Node) and isinstance(b, fx.Node)):
            continue
        found, why = None, []
        for x, g in ((a, b), (b, a)):
            r = _match_side(gm, node, x, g)
            if isinstance(r, SEMatch):
                found = r
                break
            why.append(r)
        if found is not None and not (set(found.body) & claimed):
            claimed.update(found.body)
            matches.append(found)
        elif found is None:
            # Of the two operand orders, the one that got further along the chain says more.
            misses.append(f"{_describe(gm, node)} '{node.name}': {max(why)[1]}")
    return matches, misses
