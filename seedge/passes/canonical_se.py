"""canonical_se: every squeeze-and-excitation block becomes seedge's `SqueezeExcite`.

Canonical form: mean over H,W (keepdim) -> 1x1 conv -> act -> 1x1 conv -> gate -> multiply.
In it the gate stays (N, C, 1, 1) from pool to multiply, so the exported graph has no
Flatten/Reshape/Gemm/Unsqueeze around the gate, and every backend sees one SE pattern.

SE blocks are found by what they compute, not by their class (se_pattern.py has the
pattern). Every module that computes something of its own -- the model itself and each
module that is not a torch.nn layer or container: a user's residual block, an SE class,
torchvision's SqueezeExcitation, timm's SEModule, a MobileNet block -- is traced with
torch.fx on its own, its own non-torch children left as opaque calls (each gets its
own turn; children go before their parents). So an SE chain is found in the forward
that computes it, inline in a residual block or in a class of its own. A match is only
a candidate: it is replaced only if, on the very input the block received in a forward
of the example, the canonical module gives the same values (max abs diff <= 1e-5 of the
output scale). Then the chain's nodes are removed and the block becomes the rewritten
fx GraphModule (same submodule names; the new SqueezeExcite sits where the user's SE
container was, else at `<block>.se`), or the SqueezeExcite itself when the block's whole
forward was the SE.

Where torch.fx cannot trace a forward (data-dependent Python), the module is judged as a
whole: leaves shaped like an SE (two 1x1-conv/Linear layers C -> h -> C, optionally one
BatchNorm on h, an act and a gate module, otherwise only global average pooling /
Flatten / Identity / Dropout) and the same output as the canonical module on its real
input (module-level fallback).

The pass report's `details` lists the rewritten blocks (`module`, `from`: the user's layers
it replaced, `form`: the steps recognised) and the SE-like blocks left alone with the
reason: modules whose own forward took a global mean over H,W and scaled channels by a
per-channel tensor in the example's forward, but were not rewritten (CBAM-style channel
attention, `x * (1 + gate)`, max-pool squeezes, forwards fx cannot trace ...).
"""

from __future__ import annotations

import inspect

import torch
from torch import fx, nn
from torch.overrides import TorchFunctionMode

from seedge.models.layers import SqueezeExcite
from seedge.passes._modules import replace_module
from seedge.passes.registry import PassResult, register_pass
from seedge.passes.se_pattern import SEMatch, as_conv1x1, find_se, io_features, is_1x1, is_metadata, stack_path

VERIFY_TOLERANCE = 1e-5
_NEUTRAL = (nn.Identity, nn.Flatten, nn.Unflatten, nn.Dropout, nn.Dropout1d, nn.Dropout2d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
PATTERN = (
    "mean over H,W -> 1x1 conv|Linear -> activation -> 1x1 conv|Linear -> sigmoid|hard-sigmoid -> "
    "multiply with the block input"
)


# --- which modules own computation ---------------------------------------------------------------


def _is_torch_layer(m: nn.Module) -> bool:
    """A layer or container from torch.nn itself (its forward is torch's, not the user's)."""
    return type(m).__module__.startswith(("torch.nn.", "torch.ao.nn."))


def _owns_forward(m: nn.Module, root: nn.Module) -> bool:
    return m is root or isinstance(m, SqueezeExcite) or not _is_torch_layer(m)


def _own_layers(m: nn.Module) -> list[nn.Module]:
    """1x1-conv/Linear layers `m`'s own forward calls directly (through torch containers only)."""
    out = []
    for child in m.children():
        if type(child) in _CONTAINERS:
            out += _own_layers(child)
        elif is_1x1(child):
            out.append(child)
    return out


def _post_order(module: nn.Module, prefix: str = ""):
    for name, child in module.named_children():
        yield from _post_order(child, f"{prefix}.{name}" if prefix else name)
    yield prefix, module


class _OwnForward(fx.Tracer):
    """Traces one module's own forward: torch containers are inlined, every other module is a call."""

    def __init__(self, owner: nn.Module):
        super().__init__()
        self.owner = owner

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return m is not self.owner and type(m) not in _CONTAINERS


# --- one forward of the example: inputs of each block, and which blocks act like an SE -----------


class _Watch(TorchFunctionMode):
    """Records, per block, whether its own forward squeezed over H,W and scaled channels."""

    def __init__(self, stack: list[str]):
        super().__init__()
        self.stack = stack
        self.squeezes: set[str] = set()
        self.channel_muls: set[str] = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if not self.stack:
            return out
        packet = getattr(func, "overloadpacket", None)  # aten ops (an exported program's graph)
        name = getattr(packet or func, "__name__", "")
        owner = self.stack[-1]
        if name in ("adaptive_avg_pool2d", "mean") and _global_mean(args, out):
            self.squeezes.add(owner)
        elif name in ("mul", "mul_", "__mul__", "__rmul__", "__imul__", "addcmul") and _channel_scale(args):
            self.channel_muls.add(owner)
        return out


def _global_mean(args, out) -> bool:
    x = args[0] if args else None
    return (
        isinstance(x, torch.Tensor)
        and isinstance(out, torch.Tensor)
        and x.dim() == 4
        and x.shape[2] * x.shape[3] > 1
        and out.numel() == x.shape[0] * x.shape[1]
    )


def _per_channel(t: torch.Tensor) -> bool:
    """(N, C, 1, 1) with C > 1, or such a tensor expanded over H,W (stride 0 there)."""
    if t.dim() != 4 or t.shape[1] < 2:
        return False
    return tuple(t.shape[2:]) == (1, 1) or (t.stride(2) == 0 and t.stride(3) == 0)


def _channel_scale(args) -> bool:
    """A 4-D feature map times a per-channel tensor."""
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    maps = [t for t in tensors if t.dim() == 4 and t.shape[2] * t.shape[3] > 1 and not _per_channel(t)]
    return bool(maps) and any(_per_channel(t) for t in tensors)


def _observe(model: nn.Module, example, wanted: set[str]):
    """({path: (args, kwargs) of its first call} for `wanted`, {paths of SE-like blocks})."""
    inputs: dict[str, tuple] = {}
    stack: list[str] = []
    handles = []

    def pre(path):
        def hook(mod, args, kwargs):
            stack.append(path)
            if path in wanted and path not in inputs:
                # clone: later in-place ops must not change what the block received
                inputs[path] = (
                    tuple(a.detach().clone() if isinstance(a, torch.Tensor) else a for a in args),
                    {k: v.detach().clone() if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()},
                )

        return hook

    def post(mod, args, out):
        stack.pop()

    for path, m in model.named_modules():
        if _owns_forward(m, model):
            handles.append(m.register_forward_pre_hook(pre(path), with_kwargs=True))
            handles.append(m.register_forward_hook(post, always_call=True))
    watch = _Watch(stack)
    try:
        with torch.no_grad(), watch:
            model(example)
    finally:
        for h in handles:
            h.remove()
    se_like = [p for p, _ in model.named_modules() if p in watch.squeezes and p in watch.channel_muls]
    return inputs, se_like


# --- rewriting one block ----------------------------------------------------------------------------


class _Recorder(fx.Interpreter):
    def __init__(self, gm: fx.GraphModule, want: set):
        super().__init__(gm)
        self.want = want
        self.values: dict = {}

    def run_node(self, n):
        out = super().run_node(n)
        if n in self.want and isinstance(out, torch.Tensor):
            self.values[n] = out.detach().clone()
        return out


def _bind(owner: nn.Module, args: tuple, kwargs: dict) -> tuple:
    if not kwargs:
        return args
    bound = inspect.signature(owner.forward).bind(*args, **kwargs)
    bound.apply_defaults()
    return tuple(bound.arguments.values())


def _close(out: torch.Tensor, ref: torch.Tensor) -> tuple[bool, float]:
    if not isinstance(ref, torch.Tensor) or out.shape != ref.shape:
        return False, float("inf")
    scale = max(float(ref.abs().max()), 1e-12)
    rel = float((out - ref).abs().max()) / scale
    return rel <= VERIFY_TOLERANCE, rel


def _first_line(e: Exception) -> str:
    lines = str(e).strip().splitlines()
    return (lines[0] if lines else type(e).__name__)[:200]


def _free_name(gm: nn.Module, base: str) -> str:
    name, i = base, 1
    while hasattr(gm, name):
        name, i = f"{base}_{i}", i + 1
    return name


def _common_prefix(targets: list[str]) -> str:
    parts = [t.split(".")[:-1] for t in targets]
    if not parts:
        return ""
    prefix = []
    for items in zip(*parts, strict=False):  # up to the shortest: a common prefix
        if len(set(items)) != 1:
            break
        prefix.append(items[0])
    return ".".join(prefix)


def _erase_unused(graph: fx.Graph, candidates: set) -> None:
    """Erase `candidates` (and shape reads, weight reads) that nothing uses any more, last first."""
    changed = True
    while changed:
        changed = False
        for n in reversed(list(graph.nodes)):
            if (
                not n.users
                and n.op not in ("output", "placeholder")
                and (n in candidates or is_metadata(n) or n.op == "get_attr")
            ):
                graph.erase_node(n)
                changed = True


def _whole_forward(gm: fx.GraphModule, m: SEMatch) -> bool:
    """Whether the block computes nothing but this SE (then the block itself becomes the SE)."""
    nodes = list(gm.graph.nodes)
    placeholders = [n for n in nodes if n.op == "placeholder"]
    output = next(n for n in nodes if n.op == "output")
    rest = [
        n
        for n in nodes
        if n.op not in ("placeholder", "output") and n is not m.mul and n not in m.body and not is_metadata(n)
    ]
    return placeholders == [m.x] and output.args[0] is m.mul and not rest


def _exists(gm: nn.Module, dotted: str) -> bool:
    try:
        gm.get_submodule(dotted)
    except AttributeError:
        return False
    return True


def _free_path(gm: nn.Module, base: str) -> str:
    name, i = base, 1
    while _exists(gm, name):
        name, i = f"{base}_{i}", i + 1
    return name


def _new_name(gm: fx.GraphModule, m: SEMatch, call: fx.Node, mul_path: str) -> str:
    """Where the canonical module goes, once the chain's nodes and unused modules are gone."""
    # A container of the user's that held the whole chain (`self.excite = nn.Sequential(pool, conv,
    # act, conv, gate)`) lends the canonical module its name.
    prefix = _common_prefix([t for t in m.modules if m.squeeze.op == "call_module"])
    if prefix and str(m.squeeze.target).startswith(prefix + ".") and not _exists(gm, prefix):
        return prefix
    # In an exported program: the SE class that ran the multiply, if nothing else ran inside it.
    if (
        mul_path
        and not _exists(gm, mul_path)
        and not any(
            (p == mul_path or p.startswith(mul_path + "."))
            for p in (
                stack_path(n)
                for n in gm.graph.nodes
                if n is not call and n.op not in ("placeholder", "output", "get_attr") and not is_metadata(n)
            )
        )
    ):
        return mul_path
    return _free_path(gm, f"{mul_path}.se" if mul_path else "se")


def _splice(gm: fx.GraphModule, m: SEMatch, canonical: SqueezeExcite) -> str:
    """Replace the chain by one call of `canonical`; returns the name it got in `gm`."""
    tmp = _free_name(gm, "_seedge_se")
    gm.add_submodule(tmp, canonical)
    mul_path = stack_path(m.mul)
    with gm.graph.inserting_before(m.mul):
        call = gm.graph.call_module(tmp, (m.x,))
    m.mul.replace_all_uses_with(call)
    gm.graph.erase_node(m.mul)
    _erase_unused(gm.graph, set(m.body))
    gm.delete_all_unused_submodules()
    name = _new_name(gm, m, call, mul_path)
    gm.add_submodule(name, canonical)
    call.target = name
    gm.delete_submodule(tmp)
    return name


def _copy_attributes(src: nn.Module, dst: nn.Module) -> None:
    """Plain attributes of the user's block (flags, seedge_cfg ...) survive its rewrite."""
    for k, v in vars(src).items():
        if k.startswith("_") or k == "training" or k in vars(dst) or hasattr(type(dst), k):
            continue
        if not isinstance(v, (nn.Module, torch.Tensor)):
            setattr(dst, k, v)


def _qualified(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _rewrite(path: str, owner: nn.Module, call: tuple):
    """(replacement or None, report entries, reasons for what was not rewritten)."""
    args, kwargs = call
    if isinstance(owner, fx.GraphModule):
        gm = owner  # already a graph (an exported program, an earlier rewrite): edited as it is
    else:
        try:
            tracer = _OwnForward(owner)
            graph = tracer.trace(owner)
            gm = fx.GraphModule(owner, graph, type(owner).__name__)
        except Exception as e:  # noqa: BLE001 - fx raises many types on Python it cannot trace
            return _module_level(path, owner, args, f"torch.fx cannot trace its forward ({_first_line(e)})")
    matches, misses = find_se(gm)
    if not matches:
        return None, [], misses
    recorder = _Recorder(gm, {m.x for m in matches} | {m.mul for m in matches})
    try:
        with torch.no_grad():
            recorder.run(*_bind(owner, args, kwargs))
    except Exception as e:  # noqa: BLE001
        return None, [], [f"its traced forward does not run on the example ({_first_line(e)})"]
    verified = []
    for m in matches:
        canonical = m.canonical()
        with torch.no_grad():
            ok, rel = _close(canonical(recorder.values[m.x].clone()), recorder.values[m.mul])
        if ok:
            verified.append((m, canonical))
        else:
            misses.append(
                f"the chain {' -> '.join(m.form)} ending in '{m.mul.name}' was not replaced: the "
                f"canonical module differs by {rel:.3g} of the output scale"
            )
    if not verified:
        return None, [], misses
    # The user's layers each rewrite replaced (leaves only: `se` is implied by `se.fc.0`).
    sources = {
        id(m): [_qualified(path, t) for t in m.modules if not any(u.startswith(t + ".") for u in m.modules)]
        for m, _ in verified
    }
    if len(verified) == 1 and _whole_forward(gm, verified[0][0]):
        m, canonical = verified[0]
        return canonical, [{"module": path, "from": sources[id(m)], "form": " -> ".join(m.form)}], misses
    entries = []
    for m, canonical in verified:
        name = _splice(gm, m, canonical)
        entries.append({"module": _qualified(path, name), "from": sources[id(m)], "form": " -> ".join(m.form)})
    gm.graph.lint()
    gm.recompile()
    if gm is not owner:
        _copy_attributes(owner, gm)
    return gm, entries, misses


# --- module-level fallback, for forwards fx cannot trace ------------------------------------------------


def _is_global_avg(m: nn.Module) -> bool:
    return isinstance(m, nn.AdaptiveAvgPool2d) and m.output_size in (1, (1, 1))


def se_parts(module: nn.Module):
    """(reduce, norm|None, act, expand, gate) if `module`'s leaves are shaped like an SE block, else None."""
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
        if is_1x1(m):
            linears.append(m)
        elif isinstance(m, _NORMS):
            norms.append(m)
        elif _is_global_avg(m) or isinstance(m, _NEUTRAL):
            continue
        elif isinstance(
            m,
            (
                nn.Conv2d,
                nn.Linear,
                nn.modules.pooling._AvgPoolNd,
                nn.modules.pooling._MaxPoolNd,
                nn.AdaptiveMaxPool2d,
                nn.AdaptiveAvgPool2d,
            ),
        ):
            return None
        else:
            acts.append(m)
    if len(linears) != 2 or len(acts) != 2 or len(norms) > 1:
        return None
    reduce, expand = linears
    (c, h), (h2, c2) = io_features(reduce), io_features(expand)
    if h != h2 or c != c2 or (norms and norms[0].num_features != h):
        return None
    return reduce, (norms[0] if norms else None), acts[0], expand, acts[1]


def to_canonical(module: nn.Module) -> SqueezeExcite | None:
    parts = se_parts(module)
    if parts is None:
        return None
    reduce, norm, act, expand, gate = parts
    if norm is not None and (
        isinstance(norm, nn.BatchNorm1d) != isinstance(reduce, nn.Linear) or norm.running_mean is None
    ):
        return None
    channels, hidden = io_features(reduce)
    se = SqueezeExcite(channels, hidden)
    se.fc1, se.act = as_conv1x1(reduce, norm), act
    se.fc2, se.gate = as_conv1x1(expand, None), gate
    return se.eval()


def _module_level(path: str, owner: nn.Module, args: tuple, reason: str):
    canonical = to_canonical(owner)
    if canonical is None or len(args) != 1 or not isinstance(args[0], torch.Tensor) or args[0].dim() != 4:
        return None, [], [reason]
    x = args[0]
    with torch.no_grad():
        ref = owner(x.clone())
        ok, rel = _close(canonical(x.clone()), ref)
    if not ok:
        return None, [], [reason, f"as a whole it is not the canonical SE (differs by {rel:.3g})"]
    names = [n for n, m in owner.named_modules() if is_1x1(m)]
    return (
        canonical,
        [
            {
                "module": path,
                "from": [_qualified(path, n) for n in names],
                "form": f"module-level: {reason}; the module's output equals the canonical SE's",
            }
        ],
        [],
    )


# --- the pass -------------------------------------------------------------------------------------------


@register_pass("canonical_se")
def canonical_se(model: nn.Module, example) -> PassResult:
    owners = [
        (p, m)
        for p, m in _post_order(model)
        if _owns_forward(m, model) and not isinstance(m, SqueezeExcite) and (m is model or len(_own_layers(m)) >= 2)
    ]
    inputs, se_like = _observe(model, example, {p for p, _ in owners})
    root, rewritten, reasons, done = model, [], {}, set()
    for path, owner in owners:
        if path not in inputs:
            continue  # never called in the forward: nothing to keep equal
        new, entries, why = _rewrite(path, owner, inputs[path])
        reasons[path] = why
        if new is None:
            continue
        if path:
            replace_module(root, path, new)
        else:
            _copy_attributes(model, new)
            root = new
        rewritten += entries
        done.add(path)
    left = []
    for path in se_like:
        module = model.get_submodule(path)
        if path in done or isinstance(module, SqueezeExcite) or getattr(module, "fused_tail", False):
            continue
        why = reasons.get(path) or [f"its forward is not the pattern {PATTERN}"]
        left.append({"module": path or "(model)", "reason": "; ".join(dict.fromkeys(why))[:600]})
    return PassResult(
        len(rewritten), details={"rewritten": rewritten, "left_alone": left}, model=None if root is model else root
    )
