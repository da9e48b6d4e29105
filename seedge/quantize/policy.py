"""Which ONNX nodes INT8 quantization touches: SE-aware policies and PyTorch module names.

SE blocks lose accuracy in INT8 along the gate path: a global mean, two tiny 1x1 convs, a
sigmoid whose output is a per-channel scale in [0, 1], and the multiply that applies it. An
error there scales whole channels. The policies:

  se-float  keep the gate path (ReduceMean -> Conv -> act -> Conv -> Sigmoid/HardSigmoid) and
            the Mul that applies the gate in float (`nodes_to_exclude`);
  se-range  quantize everything, but give the gate output the fixed range [0, 1]
            (`TensorQuantOverrides`) instead of whatever the calibration images produced;
  all       quantize every node ONNX Runtime can;
  se-aware  the default: whichever of se-float / se-range measured better on the demo model
            (see DEFAULT_SE_POLICY).

SE gates are found in the graph by their shape (a Sigmoid/HardSigmoid feeding a Mul, reached
from a global ReduceMean through at least two linear ops on pooled, 1x1 tensors), so they are
found whatever the model's SE class is called. Not gates: the sigmoid of a SiLU/Hardswish
(x * HardSigmoid(x), which ONNX Runtime's pre-processing writes out for every HardSwish), and
any sigmoid whose walk back to a pool crosses a feature map (an earlier block's SE multiply).
PyTorch module names come from the metadata the torch dynamo exporter writes on every node
(`pkg.torch.onnx.name_scopes`: ['', 'layer1', 'layer1.0', 'layer1.0.se', 'layer1.0.se.fc1',
'<op>']); ONNX Runtime's pre-processing keeps it (where it is gone, see `analyze`).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from seedge.errors import SeedgeError, unknown

# Measured on the demo model (seedge export of se_resnet10_cifar_tiny trained on digits;
# 256 calibration images; 538 val+test images; 2 threads; `python
# benchmarks/experiments/quantize_table.py --policies`): all, se-float and se-range keep the same answers
# (accuracy 98.51% like FP32, agreement 100%, mean |dlogit| 0.074/0.073/0.075), but se-float
# leaves float Mul ops between Q/DQ pairs and costs ONNX Runtime 13-16% (batch 1: 0.347 vs
# 0.299 ms; batch 8: 2.00 vs 1.77 ms), while OpenVINO runs them alike (0.41-0.42 / 1.17-1.21
# ms). So the default is se-range: the gate keeps its exact [0, 1] range at no cost.
DEFAULT_SE_POLICY = "se-range"

# Every INT8 policy and what it does: the library accepts exactly these, and the CLI's
# --int8-policy / --policy choices and help are built from them.
POLICY_MEANINGS = {
    "se-aware": f"the SE handling measured better on the demo model ({DEFAULT_SE_POLICY}); the first conv in float",
    "se-float": "keep each SE gate path and the Mul that applies it, and the first conv, in float",
    "se-range": "quantize the SE gate too, with its output range fixed to [0, 1]; the first conv in float",
    "all": "quantize everything ONNX Runtime can (first conv included), gates with their calibrated range",
}
POLICIES = tuple(POLICY_MEANINGS)
DEFAULT_POLICY = "se-aware"  # every quantizer's and --int8-policy's default

GATE_OPS = {"Sigmoid", "HardSigmoid"}
POOL_OPS = {"ReduceMean", "GlobalAveragePool"}
LINEAR_OPS = {"Conv", "Gemm", "MatMul"}
# Ops that may sit between the pool and the gate (activations, bias adds, reshapes of the
# Linear-based SE flavours); anything else means this sigmoid is not an SE gate.
_PATH_OPS = (
    LINEAR_OPS
    | POOL_OPS
    | GATE_OPS
    | {
        "Relu",
        "Clip",
        "PRelu",
        "LeakyRelu",
        "HardSwish",
        "Mul",
        "Add",
        "Reshape",
        "Flatten",
        "Squeeze",
        "Unsqueeze",
        "Identity",
    }
)
_MAX_PATH = 16
TOP = "(top)"  # unit name for nodes outside any named module


@dataclass
class SEGate:
    module: str  # PyTorch module of the SE block, e.g. "layer3.0.se" ("" if unknown)
    path: list[str]  # node names from the pool to the gate, inclusive
    gate_output: str  # tensor holding the gate (the Sigmoid/HardSigmoid output)
    muls: list[str]  # the Mul node(s) that apply the gate


@dataclass
class QuantPlan:
    policy: str  # resolved: se-float, se-range or all
    nodes_to_exclude: list[str] = field(default_factory=list)
    tensor_overrides: dict = field(default_factory=dict)
    excluded_modules: list[str] = field(default_factory=list)
    se_gates: list[SEGate] = field(default_factory=list)
    input_conv: str | None = None  # the first Conv's module ("node name" if unscoped), kept float


def resolve_policy(policy: str) -> str:
    if policy not in POLICIES:
        raise unknown("INT8 policy", policy, POLICIES)
    return DEFAULT_SE_POLICY if policy == DEFAULT_POLICY else policy


def node_scopes(node) -> list[str]:
    """The PyTorch module path recorded on an ONNX node, outermost first ([] if none recorded)."""
    meta = {p.key: p.value for p in node.metadata_props}
    raw = meta.get("pkg.torch.onnx.name_scopes")
    if raw:
        try:
            scopes = ast.literal_eval(raw)
            return [s for s in scopes[1:-1] if s]
        except (ValueError, SyntaxError):
            pass
    ns = meta.get("namespace")  # ": Cls/layer1: Cls/layer1.0: Cls/op: aten.op"
    if ns:
        parts = [p.split(":")[0].strip() for p in ns.split("/")]
        return [p for p in parts[1:-1] if p]
    return []


@dataclass
class GraphInfo:
    scopes: dict[str, list[str]]  # node name -> module path, outermost first
    gates: list[SEGate]
    scope_source: str  # "metadata" or "parameter names"


def analyze(proto) -> GraphInfo:
    """Module paths of every node and the SE gates of the graph.

    Module paths come from the exporter's node metadata; where a tool dropped it (onnxslim
    rebuilds nodes without metadata_props), they are rebuilt from parameter names
    ("layer1.0.se.fc1.weight" -> layer1.0.se.fc1) and a parameterless node joins the block
    of the input computed last (a residual Add joins its block, not the shortcut's).
    """
    gates = _structural_gates(proto)
    meta = {n.name: node_scopes(n) for n in proto.graph.node}
    if sum(bool(v) for v in meta.values()) * 2 >= len(meta):
        scopes, source = meta, "metadata"
        # A conv with a folded BatchNorm is recorded under the BN ("layer1.0.bn1"); its
        # weights still name the conv, and either name should select it.
        inits = {i.name for i in proto.graph.initializer}
        for node in proto.graph.node:
            module = _param_module(node, inits)
            if module:
                # The weights' module first: the stem is "conv1", not "bn1".
                scopes[node.name] = _prefixes(module) + [m for m in scopes[node.name] if m not in _prefixes(module)]
    else:
        scopes, source = _scopes_from_parameters(proto, gates), "parameter names"
    for g in gates:
        paths = [scopes.get(n, []) for n in g.path]
        common = [s for s in paths[0] if all(s in sc for sc in paths[1:])] if paths else []
        g.module = common[-1] if common else ""
    return GraphInfo(scopes=scopes, gates=gates, scope_source=source)


def _prefixes(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _scopes_from_parameters(proto, gates: list[SEGate]) -> dict[str, list[str]]:
    inits = {i.name for i in proto.graph.initializer}
    producer, _ = _graph_maps(proto)
    position = {n.name: i for i, n in enumerate(proto.graph.node)}
    by_name = {n.name: n for n in proto.graph.node}
    gate_nodes = {}
    for g in gates:
        mods = [_param_module(by_name[n], inits) for n in g.path]
        prefixes = [_prefixes(m) for m in mods if m]
        common = [s for s in prefixes[0] if all(s in p for p in prefixes[1:])] if prefixes else []
        for n in g.path + g.muls:
            gate_nodes[n] = common
    scopes, container = {}, {}
    for node in proto.graph.node:
        module = _param_module(node, inits)
        if node.name in gate_nodes:
            scopes[node.name] = gate_nodes[node.name]
            container[node.name] = gate_nodes[node.name][:-1]
        elif module:
            scopes[node.name] = _prefixes(module)
            container[node.name] = scopes[node.name][:-1]
        else:
            srcs = [producer[t] for t in node.input if t and t not in inits and t in producer]
            last = max(srcs, key=lambda n: position[n.name], default=None)
            scopes[node.name] = list(container.get(last.name, [])) if last is not None else []
            container[node.name] = scopes[node.name]
    return scopes


def _param_module(node, inits) -> str:
    """Module that owns a node's parameters ("layer1.0.conv1" for input "layer1.0.conv1.weight")."""
    for t in node.input:
        if t in inits and "." in t:
            return t.rsplit(".", 1)[0]
    return ""


def name_unnamed_nodes(proto) -> int:
    """Name every unnamed node after its op and first output (unique); return how many were named.

    ONNX Runtime's pre-processing inlines function ops (HardSwish -> HardSigmoid + Mul) into
    nodes without names, and quantize_static selects nodes by name: an empty name in
    `nodes_to_exclude` or `nodes_to_quantize` would select every unnamed node of the graph.
    """
    taken = {n.name for n in proto.graph.node if n.name}
    named = 0
    for i, node in enumerate(proto.graph.node):
        if node.name:
            continue
        base = f"{node.op_type}_{node.output[0] if node.output else i}"
        name, k = base, 1
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        node.name = name
        taken.add(name)
        named += 1
    return named


def _graph_maps(proto):
    producer, consumers = {}, defaultdict(list)
    for node in proto.graph.node:
        for t in node.output:
            producer[t] = node
        for t in node.input:
            if t:
                consumers[t].append(node)
    return producer, consumers


def find_se_gates(proto) -> list[SEGate]:
    """Every SE gate in the graph, in graph order, with its PyTorch module name where known."""
    return analyze(proto).gates


def _structural_gates(proto) -> list[SEGate]:
    producer, consumers = _graph_maps(proto)
    inits = {i.name for i in proto.graph.initializer}
    position = {id(n): i for i, n in enumerate(proto.graph.node)}  # by identity: names may be empty
    spatial = _spatial_sizes(proto)
    gates = []
    for node in proto.graph.node:
        if node.op_type not in GATE_OPS:
            continue
        users = consumers[node.output[0]]
        if any(c.op_type == "Mul" and node.input[0] in c.input for c in users):
            continue  # x * sigmoid(x): a SiLU / Hardswish activation, no gate
        muls = [c.name for c in users if c.op_type == "Mul"]
        if not muls:
            continue
        path = _path_to_pool(node, producer, inits, spatial)
        if path is None or sum(n.op_type in LINEAR_OPS for n in path) < 2:
            continue  # e.g. the sigmoid of a SiLU inside the SE: one linear op behind it
        path.sort(key=lambda n: position[id(n)])
        gates.append(SEGate(module="", path=[n.name for n in path], gate_output=node.output[0], muls=muls))
    return gates


def _spatial_sizes(proto) -> dict[str, int]:
    """Tensor name -> H*W (product of the dims after N, C) where the graph records it."""
    sizes = {}
    for vi in [*proto.graph.value_info, *proto.graph.input, *proto.graph.output]:
        dims = vi.type.tensor_type.shape.dim
        if len(dims) >= 3 and all(d.HasField("dim_value") for d in dims[2:]):
            sizes[vi.name] = int(np.prod([d.dim_value for d in dims[2:]]))
    return sizes


def _path_to_pool(gate, producer, inits, spatial: dict[str, int]) -> list | None:
    """Nodes between a global pool and `gate` (walking producers), or None if there is no such pool.

    Everything after the pool is pooled (1x1 or flattened): a node whose output is a feature map
    means the walk left the SE path, e.g. through an earlier block's SE multiply.
    """
    seen, order, stack, found_pool = set(), [], [gate], False
    while stack:
        node = stack.pop()
        if id(node) in seen:  # by identity: pre-processed graphs have nodes without names
            continue
        seen.add(id(node))
        if node.op_type not in _PATH_OPS or len(seen) > _MAX_PATH:
            return None
        if node.op_type not in POOL_OPS and any(spatial.get(t, 1) > 1 for t in node.output):
            return None
        order.append(node)
        if node.op_type in POOL_OPS:
            found_pool = True
            continue  # the pool's input is the feature map: the SE path starts here
        for t in node.input:
            if t and t not in inits and t in producer:
                stack.append(producer[t])
            elif t and t not in inits and t not in producer:
                return None  # reached a graph input without passing a global pool
    return order if found_pool else None


def module_nodes(proto, modules, info: GraphInfo | None = None) -> dict[str, list[str]]:
    """Map each PyTorch module name to the ONNX nodes it produced; unknown names raise SeedgeError."""
    info = info or analyze(proto)
    by_scope = defaultdict(list)
    for node in proto.graph.node:
        for s in info.scopes.get(node.name, []):
            by_scope[s].append(node.name)
    out = {}
    for m in modules:
        m = m.strip()
        if m not in by_scope:
            known = sorted(u for u in block_units(proto, info) if u != TOP)
            raise SeedgeError(f"module '{m}' is not in the exported graph; known blocks: {', '.join(known)}")
        out[m] = by_scope[m]
    return out


def unit_of(scopes: list[str], se_modules: set[str]) -> str:
    """The sensitivity unit of a node: its SE block if inside one, else its residual/stage block.

    A block is the first module whose name ends in an index ("layer2.1", "features.3"),
    extended through nested indices ("blocks.1.0"); nodes outside any indexed module
    belong to their top-level module ("conv1", "fc"), or to TOP.
    """
    for s in reversed(scopes):
        if s in se_modules:
            return s
    unit = None
    for s in scopes:
        if s.rsplit(".", 1)[-1].isdigit():
            if unit is None or s.startswith(unit + "."):
                unit = s
                continue
        if unit is not None:
            break
    if unit is None:
        unit = scopes[0] if scopes else TOP
    return unit


def block_units(proto, info: GraphInfo | None = None) -> dict[str, list[str]]:
    """Sensitivity units (PyTorch module names) -> their ONNX node names, in graph order."""
    info = info or analyze(proto)
    se_modules = {g.module for g in info.gates if g.module}
    units: dict[str, list[str]] = {}
    for node in proto.graph.node:
        units.setdefault(unit_of(info.scopes.get(node.name, []), se_modules), []).append(node.name)
    return units


def input_conv(proto):
    """The first Conv node in graph order: in a topologically sorted classifier, the one that reads
    the image (no other Conv can come before it on its input's path)."""
    return next((n for n in proto.graph.node if n.op_type == "Conv"), None)


def plan(proto, policy: str = DEFAULT_POLICY, exclude=(), info: GraphInfo | None = None) -> QuantPlan:
    """Turn a policy and a list of module names to keep in float into quantize_static arguments."""
    resolved = resolve_policy(policy)
    info = info or analyze(proto)
    gates = info.gates
    p = QuantPlan(policy=resolved, se_gates=gates)
    excluded: list[str] = []
    if resolved == "se-float":
        for g in gates:
            excluded += g.path + g.muls
    elif resolved == "se-range":
        # [0, 1] is the gate's true range; calibration images alone may miss its ends.
        p.tensor_overrides = {g.gate_output: [{"rmin": np.float32(0.0), "rmax": np.float32(1.0)}] for g in gates}
    if resolved != "all":
        # The convolution that reads the image stays in float. Measured per block with
        # `seedge quantize-report` on digits-trained families (benchmarks/README.md, "INT8 per
        # family"): alone it carries about half the INT8 logit noise of MobileNetV3-Large (25.3 dB
        # vs 22.5 dB for the whole model) and is RegNetY-400MF's worst block; with it in float
        # OpenVINO INT8 of MobileNetV3-Large reaches 99.44% agreement and no drop. It has 1-3
        # input channels, so it is a few percent of the work, and the SE gates are not the cause
        # (every SE block alone stays at >= 37 dB). `all` still quantizes it.
        stem = input_conv(proto)
        if stem is not None:
            excluded.append(stem.name)
            inits = {i.name for i in proto.graph.initializer}
            p.input_conv = _param_module(stem, inits) or (info.scopes.get(stem.name) or [stem.name])[-1]
    mods = [m for m in (exclude or ()) if m and m.strip()]
    for m, names in module_nodes(proto, mods, info).items():
        excluded += names
        p.excluded_modules.append(m)
    p.nodes_to_exclude = list(dict.fromkeys(excluded))
    return p
